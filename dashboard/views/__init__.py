"""One view per resource, each a few lines over the Inspector; see pages, actions and account."""
