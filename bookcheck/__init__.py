"""Check and print the rendered book the way readers see it: in a real browser.

The built HTML (``_build/html``) is opened in Debian's Chromium driven by Playwright, over
a local HTTP server and over ``file://``. ``python -m bookcheck`` saves screenshots of
every chapter and prints the whole book to one PDF; ``tests/test_browser.py`` and
``tests/test_pdf.py`` use the same code to assert that every page works offline.
"""
