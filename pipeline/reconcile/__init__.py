"""The scan reconciler: read signed paper back. (Stamping plans at build time is a render
stage, pipeline/render/stamp.py; what both sides share is in pipeline/printed.py.)

load    pages from scanned files (PDF, JPEG, PNG, TIFF) as greyscale images
pdffile opening a scanned PDF safely: cut short? locked? scripts or attachments (never run)?
align   find the page code and the corner markers on a scan; map it onto the original page
ink     new ink against the page's own local paper; printing left out
boxes   decide each box: signed / ticked / blank, or left for a person with the reason
marks   handwriting outside the boxes (strike-throughs, notes), not stains or staples
read    one page: identify, align, decide, and what limits the reading
crops   a picture of every box, for people to judge and check
run     orchestration: archive, registry, summaries (`supportplan reconcile`)
synth   synthetic scans with ground truth for tests and the benchmark
"""
