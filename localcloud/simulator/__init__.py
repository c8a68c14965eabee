"""The device simulator: real camera media, the device-side client and the PSK lookup."""
