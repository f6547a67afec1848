from inpaint.eval.figures import _spaced_labels


def test_curve_labels_leave_out_ticks_too_close_to_a_larger_one():
    assert _spaced_labels([25, 50, 100, 250, 500, 750, 1000]) == ["25", "50", "100", "250", "500", "", "1000"]
    assert _spaced_labels([100, 120, 140, 1000]) == ["", "", "140", "1000"]
    assert _spaced_labels([50]) == ["50"]
