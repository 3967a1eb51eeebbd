"""HTTP controllers, one module per bounded context; ``services.app`` wires them."""
