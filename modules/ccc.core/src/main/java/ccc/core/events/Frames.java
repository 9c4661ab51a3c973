package ccc.core.events;

import java.util.List;

/**
 * What a stream writes next: encoded frames, oldest first, and whether the stream ends after them.
 *
 * @param last whether these are the stream's last frames
 */
public record Frames(List<byte[]> frames, boolean last) {

    /** Nothing came in time; the stream goes on. */
    public static final Frames NONE = new Frames(List.of(), false);
    /** The stream ends, with nothing more to write. */
    public static final Frames END = new Frames(List.of(), true);

    public Frames {
        frames = List.copyOf(frames);
    }

    /** These frames, and the stream goes on. */
    public static Frames of(List<byte[]> frames) {
        return new Frames(frames, false);
    }

    /** One last frame, then the stream ends. */
    public static Frames lastOne(byte[] frame) {
        return new Frames(List.of(frame), true);
    }
}
