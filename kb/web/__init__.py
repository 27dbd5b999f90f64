"""The Gradio web app: the page, one module per tab, and the JSON endpoints; it talks only to the service."""
