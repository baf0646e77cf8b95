"""The readers' edge: server-rendered pages, and the small live client they load."""
