"""kb: multilingual (Korean, Chinese, English) knowledge-base question answering with citations."""

__version__ = "0.1.0"
