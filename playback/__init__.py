"""Playback pages: calendar, timeline, player, events, clips and share links."""
