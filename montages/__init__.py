"""montages package."""
