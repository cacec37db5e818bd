"""The async side: runners that await venues, and what they need around them."""
