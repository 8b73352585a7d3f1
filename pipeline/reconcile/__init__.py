"""Trackable PDFs and the scan reconciler: stamp plans at build time, read signed scans back.

codes   opaque authenticated page ids and the QR symbols that carry them
layout  page geometry: where the codes, the alignment markers and the boxes are (mm)
stamp   add codes + markers to a converted PDF and measure its boxes (build-time hook)
load    pages from scanned files (PDF, JPEG, PNG, TIFF) as greyscale images
align   find the code and the markers on a scan; map it onto the original page
detect  decide signed / ticked / blank / review from new ink; find other handwriting
run     orchestration: registry events, archive, summaries (`supportplan reconcile`)
synth   synthetic scans with ground truth for tests and the benchmark
"""
