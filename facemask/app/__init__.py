"""The web page (Streamlit): photos and clips through the same pipeline."""
