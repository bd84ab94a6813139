"""Built-in robot profiles (YAML), shipped as package data: see g1.yaml for the fields."""
