"""The Streamlit dashboard (``evfleet dashboard``): ``app.py`` registers the pages, ``screens/`` draws them,
``views``/``fleet_views``/``analysis_views`` build figures and tables without Streamlit, ``i18n`` holds the
English/French strings. Importing this package does not import Streamlit."""
