"""The Microsoft Teams adapter: Bot Framework activities in, Adaptive Cards out.

Every botbuilder import is in ``sdk.py``; the rest speaks the Activity protocol (JSON) directly.
"""
