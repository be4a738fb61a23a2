"""One module per resource group of the API; each defines a Typer `app` that `cli.main` mounts."""
