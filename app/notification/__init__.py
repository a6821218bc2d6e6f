"""Notifications: the inbox, push preferences, devices and pushes through FCM."""
