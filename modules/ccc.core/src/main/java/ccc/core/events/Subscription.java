package ccc.core.events;

import ccc.core.json.Json;
import ccc.core.log.Timestamps;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One client's subscription to the {@link EventHub}: the events it missed (when it resumed), then
 * every new event of its types, through a buffer of {@link EventHub#SUBSCRIBER_BUFFER}. The hub
 * never waits for it: an event that finds the buffer full drops the subscriber, whose stream then
 * ends with a {@code dropped} event saying why.
 */
public final class Subscription implements FrameSource {

    // Wakes the writer when the hub ends the subscription.
    private static final EventHub.Event END = new EventHub.Event(-1, EventType.SHUTDOWN, new byte[0]);
    // Frames handed out at once at most: a writer that catches up writes a batch, not one event at a time.
    private static final int BATCH = 128;

    private final EventHub hub;
    private final Set<EventType> types;
    private final ArrayBlockingQueue<EventHub.Event> buffer = new ArrayBlockingQueue<>(EventHub.SUBSCRIBER_BUFFER);
    private List<byte[]> opening;
    private volatile String dropped;
    private volatile boolean ended;
    // The writer's: the id of the last event handed out.
    private long lastHandedOut;

    Subscription(EventHub hub, Set<EventType> types, List<byte[]> opening, long lastHandedOut) {
        this.hub = hub;
        this.types = Set.copyOf(types);
        this.opening = opening;
        this.lastHandedOut = lastHandedOut;
    }

    /**
     * Called by the hub, holding it: takes {@code event} if it is of a wanted type, or drops the
     * subscriber when its buffer is full. Returns false only when this event dropped it.
     */
    boolean offer(EventHub.Event event) {
        if (dropped != null || ended || !types.contains(event.type())) {
            return true;
        }
        if (!buffer.offer(event)) {
            dropped = "the client fell behind: " + EventHub.SUBSCRIBER_BUFFER + " events were waiting to be sent to it";
            return false;
        }
        return true;
    }

    @Override
    public Frames next(Duration wait) throws InterruptedException {
        if (opening != null) {
            List<byte[]> missedAndKept = opening;
            opening = null;
            if (!missedAndKept.isEmpty()) {
                return Frames.of(missedAndKept);
            }
        }
        if (dropped != null) {
            return Frames.lastOne(droppedFrame());
        }
        EventHub.Event first = buffer.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
        if (first == null || first == END) {
            return ended && buffer.isEmpty() ? Frames.END : Frames.NONE;
        }
        var events = new ArrayList<EventHub.Event>();
        events.add(first);
        buffer.drainTo(events, BATCH - 1);
        var frames = new ArrayList<byte[]>(events.size());
        boolean last = false;
        for (EventHub.Event event : events) {
            if (event == END) {
                last = true;
            } else {
                frames.add(event.frame());
                lastHandedOut = event.id();
            }
        }
        return new Frames(frames, last);
    }

    private byte[] droppedFrame() {
        var data = new LinkedHashMap<String, Object>();
        data.put("reason", dropped);
        data.put("last_event_id", lastHandedOut);
        data.put("timestamp", Timestamps.format(Instant.now()));
        return Sse.frame("dropped", Json.write(data));
    }

    @Override
    public Optional<String> fellBehind() {
        return Optional.ofNullable(dropped);
    }

    @Override
    public void end() {
        ended = true;
        buffer.offer(END);
    }

    @Override
    public void close() {
        hub.unsubscribe(this);
    }
}
