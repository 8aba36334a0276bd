"""The Gradio app (arrives with the UI issue). It calls only mmrag's public API."""
