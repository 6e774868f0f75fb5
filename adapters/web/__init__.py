"""The dashboard: server-rendered pages, sessions and sign-in links (a driving adapter like the chats)."""
