"""How the browser walks start Debian's Chromium: headless, as root, and quiet on the network."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]
