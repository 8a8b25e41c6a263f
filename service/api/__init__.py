"""The HTTP API: dependencies, the operations shared with the CLI, and the routers."""
