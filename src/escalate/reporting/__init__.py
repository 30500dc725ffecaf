"""The reporting wing: exported posterior reports (HTML, Markdown, JSON, CSV) and plots.
"""
