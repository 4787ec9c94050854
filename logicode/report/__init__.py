"""The auditors' report of an inspection run: one self-contained HTML file (and a PDF of it).

* :func:`logicode.report.html.render_html` / :func:`~logicode.report.html.write_html`: the
  HTML, images and CSS inline, no script, no external reference.
* :func:`logicode.report.pdf.write_pdf`: the same HTML as PDF (``pip install 'logicode[pdf]'``).
* :func:`logicode.report.browser.render_png`: a screenshot with headless Chromium.
"""
