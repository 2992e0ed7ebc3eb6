"""The montage panel names its topomaps by the model's spatial front end: CDSE patterns or SAIE sites."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.gui.topography import spatial_map_title
from helpers.models import small_config
from montages import resolve_montage
from samba_core import Samba

LABELS = ["Fz", "Cz", "Pz", "C3", "C4", "O1", "O2", "F3"]


def test_titles_name_cdse_patterns_and_saie_sites():
    thumb, caption = spatial_map_title("cdse", ("latent 1", "latent 2"), 1, 2)
    assert thumb == "#2" and caption.startswith("CDSE latent spatial channel <b>2</b> of 2") and "signed" in caption
    thumb, caption = spatial_map_title("virtual-sites", ("Fp1", "Cz"), 1, 2)
    assert thumb == "Cz" and caption.startswith("SAIE virtual site <b>Cz</b> (2 of 2)") and "sums to 1" in caption
    with pytest.raises(KeyError):
        spatial_map_title("pca", (), 0, 1)


@pytest.mark.parametrize("spatial", ["cdse", "virtual-sites"])
def test_panel_shows_the_front_end_in_use(qtbot, spatial):
    from app.gui.montage_panel import MontagePanel

    torch.manual_seed(0)
    model = Samba(small_config(spatial=spatial)).eval()
    coords = resolve_montage(LABELS, ["eeg"] * len(LABELS)).coords
    with torch.no_grad():
        weights = model.spatial_weights(torch.from_numpy(np.array(coords, dtype=np.float32))).numpy()
    channels = [{"index": i, "label": lab, "used": True, "position_m": list(map(float, p))}
                for i, (lab, p) in enumerate(zip(LABELS, coords))]
    snap = SimpleNamespace(
        montage={"channels": channels}, montage_report="", spatial_weights=weights, quality=("good",) * len(LABELS),
        good=np.ones(len(LABELS), bool), spatial_kind=model.spatial.kind, spatial_names=model.spatial.map_names,
    )
    panel = MontagePanel(resolution=24)
    qtbot.addWidget(panel)
    panel.update_from(snap)
    assert len(panel.maps) == panel.thumbnails.count() == model.spatial.width
    panel.thumbnails.setCurrentRow(1)
    if spatial == "cdse":
        assert "CDSE latent patterns" in panel.title.text() and "channel <b>2</b>" in panel.map_label.text()
    else:
        name = model.spatial.map_names[1]
        assert "SAIE virtual-site weights" in panel.title.text()
        assert panel.thumbnails.item(1).text() == name and f"<b>{name}</b>" in panel.map_label.text()
