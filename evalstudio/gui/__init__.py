"""The desktop app: widgets that render state and emit intent, a controller that owns the state."""
