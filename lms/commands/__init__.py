"""`lms` sub-commands, one module per operational area. Each module exposes `commands`."""
