"""Generated answers: LLM clients, the prompt, verification of what was generated."""
