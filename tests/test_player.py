"""The ring buffer and the Player's real-time callback path, on a null output stream.

Ordering is asserted through events and counters, never through wall-clock durations.
"""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from emomix.audio import AudioDeviceError, NullOutputStream, Player, RingBuffer

SR = 22050


def wait_until(predicate, limit: float = 30.0) -> None:
    """Poll ``predicate`` (a safety limit only; tests do not depend on how long it takes)."""
    end = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < end, "condition never became true"
        time.sleep(0.002)


def test_ring_buffer_producer_and_consumer_threads_keep_every_sample_in_order():
    ring = RingBuffer(1000)
    total = 300_000
    signal = np.arange(total, dtype=np.float32)
    got = np.full(total, -1.0, dtype=np.float32)
    rng = np.random.default_rng(0)
    writes = rng.integers(1, 700, size=10_000)
    reads = rng.integers(1, 700, size=10_000)

    def produce():
        done, i = 0, 0
        while done < total:
            n = ring.write(signal[done:done + int(writes[i % writes.size])])
            done += n
            i += 1
            if n == 0:
                time.sleep(0)

    def consume():
        done, i = 0, 0
        scratch = np.zeros(700, np.float32)
        while done < total:
            want = min(int(reads[i % reads.size]), total - done)
            n = ring.read_into(scratch[:want])
            got[done:done + n] = scratch[:n]
            done += n
            i += 1
            if n == 0:
                time.sleep(0)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(got, signal)
    assert ring.read_count == ring.write_count == total and ring.readable == 0


def test_ring_buffer_edges():
    ring = RingBuffer(8)
    assert ring.write(np.arange(10, dtype=np.float32)) == 8  # only what fits
    assert ring.writable == 0 and ring.readable == 8
    out = np.zeros(5, np.float32)
    assert ring.read_into(out) == 5 and out.tolist() == [0, 1, 2, 3, 4]
    assert ring.write(np.array([8, 9, 10], np.float32)) == 3  # wraps around
    assert ring.skip_to(7) == 2  # flush
    out = np.zeros(8, np.float32)
    assert ring.read_into(out) == 4 and out[:4].tolist() == [7, 8, 9, 10]
    assert ring.skip_to(100) == 0  # never past what is written
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)


def test_the_callback_does_not_allocate():
    player = Player(SR, output="null", null_speed=1.0)
    player.pause()
    player._stream.stop()  # drive the callback by hand
    player.resume()
    line = np.linspace(0.1, 0.2, 50_000, dtype=np.float32)
    player._ring.write(line)
    out = np.zeros((512, 1), np.float32)
    for _ in range(5):
        player._callback(out, 512, None, None)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(80):
        player._callback(out, 512, None, None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak - before < 4096  # views and ints only, nothing the size of a block
    assert player.stats.played_samples == 85 * 512
    player.close()


def test_lines_play_in_order_and_bit_exact():
    a = np.linspace(0.1, 0.5, 30_000, dtype=np.float32)
    b = np.linspace(-0.1, -0.4, 20_000, dtype=np.float32)
    with Player(SR, output="null", null_speed=50, capture=True) as player:
        player.play(a)
        player.play(iter([b[:7000], b[7000:]]))
        assert player.wait(timeout=60)
        heard = player.captured
        assert player.stats.lines == 2
    # neither line holds a zero, so the silence around (or, on a starved machine, inside) them
    # can be taken out and what remains must be both lines, in order, bit for bit
    np.testing.assert_array_equal(heard[heard != 0], np.concatenate([a, b]))


def test_underruns_are_counted_when_synthesis_falls_behind():
    go_on = threading.Event()
    with Player(SR, output="null", null_speed=20) as player:

        def slow_line():
            yield np.full(2048, 0.25, np.float32)
            start = player.stats.callbacks
            # hold the next chunk back until the callback has come back several times
            wait_until(lambda: player.stats.callbacks > start + 8)
            go_on.set()
            yield np.full(2048, 0.25, np.float32)

        player.play(slow_line())
        assert player.wait(timeout=60)
        stats = player.stats
    assert go_on.is_set()
    assert stats.underruns >= 1 and stats.underrun_samples >= 512
    assert stats.played_samples == 4096


def test_silence_between_lines_is_not_an_underrun():
    with Player(SR, output="null", null_speed=20) as player:
        start = player.stats.callbacks
        wait_until(lambda: player.stats.callbacks > start + 10)
        player.play(np.full(3000, 0.1, np.float32))
        assert player.wait(timeout=60)
        assert player.stats.underruns == 0


def test_pause_resume_stop_and_interrupt():
    with Player(SR, output="null", null_speed=20, capture=True) as player:
        player.pause()
        player.play(np.full(5000, 0.3, np.float32))
        start = player.stats.callbacks
        wait_until(lambda: player.stats.callbacks > start + 10)
        assert player.stats.played_samples == 0 and player.speaking  # held, not dropped
        player.resume()
        assert player.wait(timeout=60)
        assert player.stats.played_samples == 5000

        long = np.full(SR * 20, 0.1, np.float32)
        player.play(long)
        player.play(np.full(1000, 0.9, np.float32))  # queued behind the long line
        wait_until(lambda: player.stats.played_samples > 5000 + 2048)
        player.play(np.full(1500, 0.2, np.float32), interrupt=True)
        assert player.wait(timeout=60)
        heard = player.captured
        assert 0 < np.count_nonzero(heard == np.float32(0.1)) < long.size  # cut
        assert np.count_nonzero(heard == np.float32(0.9)) == 0  # dropped from the queue
        assert np.count_nonzero(heard == np.float32(0.2)) == 1500  # played whole

        player.play(long)
        wait_until(lambda: np.count_nonzero(player.captured == np.float32(0.1)) > 0)
        player.stop()
        assert player.wait(timeout=60) and not player.speaking


def test_bad_player_inputs():
    with pytest.raises(ValueError, match="output"):
        Player(output="speakers")
    with pytest.raises(ValueError, match="block_frames"):
        Player(block_frames=3, output="null")
    with Player(SR, output="null") as player:
        with pytest.raises(ValueError, match="mono"):
            player.play(np.zeros((2, 100), np.float32))

        class Speech:
            sample_rate = 16000

            def __iter__(self):
                return iter(())

        with pytest.raises(ValueError, match="sample_rate=voice.sample_rate"):
            player.play(Speech())
    with pytest.raises(RuntimeError, match="closed"):
        player.play(np.zeros(10, np.float32))
    with pytest.raises(ValueError, match="speed"):
        NullOutputStream(SR, 512, 1, lambda *a: None, speed=0)


def test_device_output_fails_clearly_without_a_device():
    try:
        import sounddevice as sd

        has_device = any(d["max_output_channels"] > 0 for d in sd.query_devices())
    except (ImportError, OSError):
        has_device = False
    if has_device:
        pytest.skip("this machine has an audio output device")
    with pytest.raises(AudioDeviceError, match="sounddevice|PortAudio|output device"):
        Player(SR, output="device")
    with Player(SR, output="auto") as player:  # falls back to the null output
        assert player.output_kind == "null"


@pytest.mark.usefixtures("needs_espeak")
def test_a_character_speaks_through_the_player(random_voice_dir):
    import emomix

    voice = emomix.load_voice(random_voice_dir, backend="torch", threads=1)
    npc = emomix.Character(voice, stream=emomix.StreamConfig(first_block_frames=32,
                                                             block_frames=48))
    npc.emotion.set(happy=1)
    expected = np.clip(npc.say("Hello there, traveller.", seed=4), -1, 1)
    with Player(voice.sample_rate, output="null", null_speed=4, capture=True) as player:
        player.say(npc, "Hello there, traveller.", seed=4)
        assert player.wait(timeout=120)
        heard = player.captured
        assert player.last_error is None
    # underruns may insert silence, so compare the sound with the zeros taken out
    np.testing.assert_allclose(heard[heard != 0], expected[expected != 0], atol=1e-6)
