"""The only package that talks to Redis. Stores expose intention-named methods."""
