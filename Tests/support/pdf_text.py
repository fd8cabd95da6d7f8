"""Prints a PDF's page count and per-page text as JSON, using pypdf (an independent PDF parser)."""
import json
import sys

from pypdf import PdfReader

reader = PdfReader(sys.argv[1])
print(json.dumps({"pages": len(reader.pages), "text": [page.extract_text() or "" for page in reader.pages]}))
