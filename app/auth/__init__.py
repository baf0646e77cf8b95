"""Who is asking, and what they may do: principals, scopes, API tokens."""
