"""Build side of the knowledge base: load -> normalise -> structure -> chunk -> embed -> store."""
