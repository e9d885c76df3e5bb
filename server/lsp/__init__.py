"""The language server (``perforch lsp``): pygls handlers over perforch_core."""
