"""View-models: what each page shows, built from Inspector results, free of HTTP and Redis."""
