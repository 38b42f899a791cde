"""Train it live in a real Chromium: the training page's progress bar and loss curve move
while a quick job runs, and a page opened afterwards gets the job and lists its model; the
teacher's "Teach it our handwriting" shows the held-back accuracy before and after."""
from pathlib import Path

import numpy as np
import pytest

from model.preprocess import strokes_to_input
from tests.browser import watched_page
from tests.test_accessibility import assert_accessible
from tests.conftest import start_server
from webapp.classroom.store import Store

MNIST_ONLY = Path(__file__).resolve().parent.parent / "model" / "zoo" / "mnist-only" / "mnist_cnn.keras"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An app of its own: its trained models go to a temporary folder, and the class reads
    with the MNIST-only model, which the pen writers' drawings can still teach something."""
    folder = tmp_path_factory.mktemp("training")
    database = folder / "classroom.sqlite3"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CNNVIEW_TRAINING_DIR", str(folder / "trained"))
        env.setenv("CNNVIEW_MODELS", f"{MNIST_ONLY}")
        process, url = start_server(database)
    yield url, database
    process.terminate()
    process.wait(10)


def test_the_training_page_shows_a_job_learning(browser, server):
    url, _ = server
    with watched_page(browser, url + "/train") as page:
        assert_accessible(page, "/train, no job yet")
        for name, value in (("epochs", "3"), ("samples_per_epoch", "384"), ("batch_size", "32")):
            page.fill(f"#train-form [name={name}]", value)
        page.click("#train-start")
        page.wait_for_function("() => document.querySelector('#train-progress').value > 0", timeout=120_000)
        first = points(page)
        page.wait_for_function(f"() => Number(document.querySelector('#loss-curve').dataset.points) > {first + 2}", timeout=60_000)
        assert "left" in page.inner_text("#train-eta")  # the ETA
        assert page.locator("#probe-bars meter").count() == 10
        assert_accessible(page, "/train, training")
        page.wait_for_selector("#training[data-state=done]", timeout=120_000)
        assert_accessible(page, "/train, done")
        model = page.get_attribute("#train-result a", "href").split("model=")[1]
        assert page.evaluate("() => document.querySelector('#train-progress').value") == 1
    with watched_page(browser, url + "/train") as later:  # reopened: the job as it ended, its model in the picker
        later.wait_for_selector("#training[data-state=done]")
        assert points(later) > 3 and later.locator(f".model-picker a[data-model='{model}']").count() == 1


def points(page):
    return int(page.get_attribute("#loss-curve", "data-points") or 0)


def test_teach_it_our_handwriting_shows_before_and_after(browser, server, pen_test_samples):
    url, database = server
    with watched_page(browser, url) as page:
        page.click("#start-class")
        page.wait_for_selector("#class-training")
        code = page.get_attribute("#class-code", "data-code")
        store = Store(str(database))
        klass = store.find_class(code)
        student, _ = store.add_student(klass, "Pen writers")
        picks = np.random.default_rng(1).choice(len(pen_test_samples), 120, replace=False)
        for sample in (pen_test_samples[i] for i in picks):
            drawing = {"strokes": sample["strokes"], "width": 500, "height": 500}
            store.add_submission(student, drawing, strokes_to_input(sample["strokes"]), sample["label"], [0.1] * 10, "mnist-only")
        page.click("#teach-start")
        page.wait_for_selector("#teach-before[data-accuracy]", timeout=120_000)
        page.wait_for_selector("#class-training[data-state=done]", timeout=120_000)
        before, after = (float(page.get_attribute(f"#teach-{side}", "data-accuracy")) for side in ("before", "after"))
        assert page.inner_text("#teach-after").endswith("held-back drawings")
        assert page.locator("#teach-after-matrix td").count() == 100
        assert after >= before
        assert_accessible(page, "teacher's page, before and after fine-tuning")
        page.click("#teach-use")
        page.wait_for_function("() => document.querySelector('#class-model').textContent.startsWith('class-')")
