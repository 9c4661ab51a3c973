package ccc.core.events;

import ccc.core.json.Json;
import ccc.core.log.Log;
import ccc.core.log.Timestamps;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The events of {@code /api/events}: each published event gets the next id, goes into a history
 * of the last {@link #HISTORY_SIZE} and into the buffer of every subscriber that wants its type.
 * Publishing never waits for a subscriber: it is called on the lifecycle's writer thread, and a
 * subscriber whose buffer is full has fallen behind and is dropped instead.
 *
 * <p>Each event is encoded once, as the frame every subscriber sends, and at most
 * {@link #MAX_EVENT_BYTES} long, so the history and the buffers hold a bounded amount. It is
 * encoded off the publisher's thread, by a virtual thread started as it is published (or by
 * the first subscriber to send it, if that comes first): a transition does not wait for JSON.
 */
public final class EventHub {

    /** The events kept for clients that reconnect with {@code Last-Event-ID}. */
    public static final int HISTORY_SIZE = 1000;
    /** Subscribers at once; more are refused (503). */
    public static final int MAX_SUBSCRIBERS = 64;
    /** The events waiting for one subscriber at most; one more, and the subscriber has fallen behind. */
    public static final int SUBSCRIBER_BUFFER = 1024;
    /** The longest an event's JSON may be, in bytes: longer texts in it (a workload's output lines, say) are cut. */
    public static final int MAX_EVENT_BYTES = 4096;
    /** The characters each text of an event starts with before it is cut to fit {@link #MAX_EVENT_BYTES}. */
    static final int MAX_TEXT_CHARS = 1024;

    private static final Log LOG = Log.named("events");

    /**
     * An event of this hub: its id, type and frame, encoded from its data once, by whoever asks
     * for the frame first; the data is let go then.
     */
    static final class Event {
        private final long id;
        private final EventType type;
        // Guarded by this: the data until the frame is encoded, then the frame.
        private Map<String, Object> data;
        private Instant at;
        private byte[] frame;

        private Event(long id, EventType type, Map<String, Object> data, Instant at) {
            this.id = id;
            this.type = type;
            this.data = data;
            this.at = at;
        }

        /** An event whose frame is {@code frame} as it is. */
        Event(long id, EventType type, byte[] frame) {
            this(id, type, null, null);
            this.frame = frame;
        }

        long id() {
            return id;
        }

        EventType type() {
            return type;
        }

        /**
         * The frame, encoded now if no one has yet; an event whose data cannot be encoded (a
         * defect: the core builds every event's data) is a comment, which clients skip.
         */
        synchronized byte[] frame() {
            if (frame == null) {
                try {
                    data.putIfAbsent("timestamp", Timestamps.format(at));
                    frame = Sse.frame(id, type.wireName(), bounded(data));
                } catch (RuntimeException e) {
                    LOG.warn("event could not be encoded and was left out", "type", type.wireName(), "reason", Log.describe(e));
                    frame = (": event " + id + " could not be encoded\n\n").getBytes(StandardCharsets.UTF_8);
                }
                data = null;
                at = null;
            }
            return frame;
        }
    }

    /** A subscription the hub refuses; the message says why (answered as a 503). */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private final long firstId;
    private final Event[] history = new Event[HISTORY_SIZE];
    // Guarded by this.
    private long nextId;
    private final Set<Subscription> subscribers = new LinkedHashSet<>();
    private boolean closed;

    /** A hub whose ids start at this run's {@link StreamIds#firstOfThisRun}. */
    public EventHub() {
        this(StreamIds.firstOfThisRun());
    }

    EventHub(long firstId) {
        this.firstId = firstId;
        this.nextId = firstId;
    }

    /**
     * Publishes an event of {@code type}: {@code fields}, and {@code timestamp} (now) when they
     * have none. Returns at once, from any thread; a failure to encode it is logged, and the
     * event is sent as a comment, which clients skip.
     */
    public void publish(EventType type, Map<String, Object> fields) {
        // A copy: the caller's map may change once this returns. Its timestamp is taken now.
        var data = new LinkedHashMap<String, Object>(fields);
        Instant at = Instant.now();
        Event event;
        int dropped = 0;
        synchronized (this) {
            if (closed) {
                return;
            }
            long id = nextId++;
            event = new Event(id, type, data, at);
            history[slot(id)] = event;
            for (Subscription subscriber : subscribers) {
                if (!subscriber.offer(event)) {
                    dropped++;
                }
            }
        }
        // Encoded at once, but off this thread; its data is held only until then.
        Thread.ofVirtual().name("event-encoder").start(event::frame);
        if (dropped > 0) {
            LOG.warn("an event subscriber fell behind and is dropped", "subscribers", dropped, "buffer", SUBSCRIBER_BUFFER);
        }
    }

    /**
     * A subscription to the events of {@code types}, from now on; with {@code lastEventId}, first
     * the events after it that the history still holds. When some of those have left the history,
     * or {@code lastEventId} is no event of this run, a {@code missed} event comes first and the
     * stream resumes at the oldest event kept.
     *
     * @throws Refused when {@link #MAX_SUBSCRIBERS} are subscribed, or the core is shutting down
     */
    public synchronized Subscription subscribe(Set<EventType> types, OptionalLong lastEventId) throws Refused {
        if (closed) {
            throw new Refused("the core is shutting down");
        }
        if (subscribers.size() >= MAX_SUBSCRIBERS) {
            throw new Refused("too many event subscribers (at most " + MAX_SUBSCRIBERS + "); try again shortly");
        }
        var opening = new ArrayList<byte[]>();
        long lastSent = nextId - 1;
        if (lastEventId.isPresent()) {
            long oldestKept = Math.max(firstId, nextId - HISTORY_SIZE);
            long from = lastEventId.getAsLong() + 1;
            if (from < oldestKept || from > nextId) {
                opening.add(missed(lastEventId.getAsLong(), oldestKept));
                from = oldestKept;
            }
            for (long id = from; id < nextId; id++) {
                Event event = history[slot(id)];
                if (types.contains(event.type())) {
                    opening.add(event.frame());
                }
            }
        }
        var subscription = new Subscription(this, types, opening, lastSent);
        subscribers.add(subscription);
        return subscription;
    }

    /** How many subscribers there are now. */
    public synchronized int subscribers() {
        return subscribers.size();
    }

    /** Refuses new subscribers and ends every subscription once what it holds is sent: the core shuts down. */
    public synchronized void close() {
        closed = true;
        subscribers.forEach(Subscription::end);
    }

    synchronized void unsubscribe(Subscription subscription) {
        subscribers.remove(subscription);
    }

    private int slot(long id) {
        return (int) ((id - firstId) % HISTORY_SIZE);
    }

    private static byte[] missed(long lastEventId, long resumesAt) {
        var data = new LinkedHashMap<String, Object>();
        data.put("last_event_id", lastEventId);
        data.put("resumes_at", resumesAt);
        data.put("reason", "events after last_event_id are no longer kept (the last " + HISTORY_SIZE
                + " are), or it is no event of this run of the core; the stream resumes at the oldest event kept");
        data.put("timestamp", Timestamps.format(Instant.now()));
        return Sse.frame("missed", Json.write(data));
    }

    /**
     * {@code data} as JSON of at most {@link #MAX_EVENT_BYTES}: texts are cut, more at each try,
     * until it fits (with no text left, an event is a few fixed fields).
     */
    static byte[] bounded(Map<String, Object> data) {
        byte[] json = Json.write(data);
        for (int limit = MAX_TEXT_CHARS; json.length > MAX_EVENT_BYTES && limit > 0; limit /= 4) {
            json = Json.write(cutTexts(data, limit));
        }
        return json;
    }

    private static Object cutTexts(Object value, int limit) {
        if (value instanceof String text) {
            return text.length() <= limit ? text : text.substring(0, limit) + "…";
        }
        if (value instanceof Map<?, ?> map) {
            var cut = new LinkedHashMap<Object, Object>();
            map.forEach((key, nested) -> cut.put(key, cutTexts(nested, limit)));
            return cut;
        }
        if (value instanceof List<?> list) {
            return list.stream().map(nested -> cutTexts(nested, limit)).toList();
        }
        return value;
    }
}
