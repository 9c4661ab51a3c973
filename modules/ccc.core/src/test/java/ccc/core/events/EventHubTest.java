package ccc.core.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.ctl.ServerSentEvents;
import ccc.core.json.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The hub of {@code /api/events}: ids, history, resuming, filters, bounds, and subscribers that fall behind. */
class EventHubTest {

    private static final Set<EventType> ALL = EnumSet.allOf(EventType.class);
    private static final Duration NO_WAIT = Duration.ZERO;

    /** Everything a subscription hands out now, parsed as a client parses the stream. */
    private static List<ServerSentEvents.Event> drain(Subscription subscription) throws Exception {
        var bytes = new ByteArrayOutputStream();
        for (Frames frames = subscription.next(NO_WAIT); !frames.frames().isEmpty(); frames = subscription.next(NO_WAIT)) {
            frames.frames().forEach(bytes::writeBytes);
            if (frames.last()) {
                break;
            }
        }
        return parse(bytes.toByteArray());
    }

    private static List<ServerSentEvents.Event> parse(byte[] stream) throws Exception {
        var events = new ArrayList<ServerSentEvents.Event>();
        try (var reader = new ServerSentEvents(new ByteArrayInputStream(stream))) {
            for (var next = reader.next(); next.isPresent(); next = reader.next()) {
                events.add(next.get());
            }
        }
        return events;
    }

    private static void publish(EventHub hub, int count, EventType type) {
        for (int i = 0; i < count; i++) {
            hub.publish(type, Map.of("n", i));
        }
    }

    private static long id(ServerSentEvents.Event event) {
        return Long.parseLong(event.id());
    }

    @Test
    void idsIncreaseByOneAndEachSubscriberGetsTheTypesItAskedFor() throws Exception {
        var hub = new EventHub(1000);
        var all = hub.subscribe(ALL, OptionalLong.empty());
        var exits = hub.subscribe(EnumSet.of(EventType.EXIT), OptionalLong.empty());
        hub.publish(EventType.PHASE, Map.of("phase", "starting"));
        hub.publish(EventType.EXIT, Map.of("exit_code", 3));
        hub.publish(EventType.PHASE, Map.of("phase", "failed"));

        var received = drain(all);
        assertEquals(List.of("phase", "exit", "phase"), received.stream().map(ServerSentEvents.Event::type).toList());
        assertEquals(List.of(1000L, 1001L, 1002L), received.stream().map(EventHubTest::id).toList());
        Map<String, Object> data = Json.readObject(received.get(1).data().getBytes());
        assertEquals(3, data.get("exit_code"));
        assertTrue(data.get("timestamp") instanceof String, "every event has a timestamp: " + data);

        var onlyExits = drain(exits);
        assertEquals(List.of(1001L), onlyExits.stream().map(EventHubTest::id).toList());
    }

    @Test
    void aClientResumingWithLastEventIdGetsExactlyWhatItMissed() throws Exception {
        var hub = new EventHub(1);
        publish(hub, 10, EventType.REQUEST);
        var resumed = hub.subscribe(ALL, OptionalLong.of(7));
        publish(hub, 2, EventType.REQUEST);
        assertEquals(List.of(8L, 9L, 10L, 11L, 12L), drain(resumed).stream().map(EventHubTest::id).toList());

        var upToDate = hub.subscribe(ALL, OptionalLong.of(12));
        assertEquals(List.of(), drain(upToDate));
    }

    @Test
    void aClientWhoseEventsLeftTheHistoryIsToldSoThenGetsWhatIsKept() throws Exception {
        var hub = new EventHub(1);
        publish(hub, EventHub.HISTORY_SIZE + 500, EventType.PHASE);
        var resumed = hub.subscribe(ALL, OptionalLong.of(100));
        var received = drain(resumed);
        assertEquals("missed", received.getFirst().type());
        assertEquals(null, received.getFirst().id(), "the missed event leaves the client's last id as it was");
        Map<String, Object> missed = Json.readObject(received.getFirst().data().getBytes());
        assertEquals(100, ((Number) missed.get("last_event_id")).intValue());
        assertEquals(501, ((Number) missed.get("resumes_at")).intValue());
        assertEquals(EventHub.HISTORY_SIZE, received.size() - 1);
        assertEquals(501L, id(received.get(1)));
        assertEquals(1500L, id(received.getLast()));
    }

    @Test
    void anIdFromAnotherRunOfTheCoreIsMissedRatherThanTrusted() throws Exception {
        var hub = new EventHub(5_000);
        publish(hub, 3, EventType.PHASE);
        for (long earlierOrUnknown : List.of(4_000L, 9_999L)) {
            var received = drain(hub.subscribe(ALL, OptionalLong.of(earlierOrUnknown)));
            assertEquals("missed", received.getFirst().type());
            assertEquals(List.of(5_000L, 5_001L, 5_002L), received.subList(1, received.size()).stream().map(EventHubTest::id).toList());
        }
    }

    @Test
    void aSubscriberThatDoesNotReadIsDroppedAndThePublisherNeverWaits() throws Exception {
        var hub = new EventHub(1);
        var sleeper = hub.subscribe(ALL, OptionalLong.empty());
        var reader = hub.subscribe(EnumSet.of(EventType.EXIT), OptionalLong.empty());
        long began = System.nanoTime();
        publish(hub, 200_000, EventType.PHASE);
        hub.publish(EventType.EXIT, Map.of("exit_code", 0));
        System.out.printf("200,001 events published past a subscriber that reads nothing in %.0f ms%n", (System.nanoTime() - began) / 1e6);

        assertTrue(sleeper.fellBehind().isPresent());
        Frames last = sleeper.next(NO_WAIT);
        assertTrue(last.last(), "the stream ends");
        var dropped = parse(last.frames().getFirst());
        assertEquals("dropped", dropped.getFirst().type());
        assertEquals(null, dropped.getFirst().id());
        Map<String, Object> why = Json.readObject(dropped.getFirst().data().getBytes());
        assertTrue(((String) why.get("reason")).contains("fell behind"), why.toString());
        assertEquals(0, ((Number) why.get("last_event_id")).intValue(), "it was handed nothing");

        assertEquals(List.of(200_001L), drain(reader).stream().map(EventHubTest::id).toList(), "the other subscriber is unaffected");
        assertTrue(reader.fellBehind().isEmpty());
    }

    @Test
    void theSubscribersAreBoundedAndAPlaceComesBackWhenOneCloses() throws Exception {
        var hub = new EventHub(1);
        var subscriptions = new ArrayList<Subscription>();
        for (int i = 0; i < EventHub.MAX_SUBSCRIBERS; i++) {
            subscriptions.add(hub.subscribe(ALL, OptionalLong.empty()));
        }
        var refused = assertThrows(EventHub.Refused.class, () -> hub.subscribe(ALL, OptionalLong.empty()));
        assertTrue(refused.getMessage().contains("at most " + EventHub.MAX_SUBSCRIBERS), refused.getMessage());
        subscriptions.removeFirst().close();
        assertEquals(EventHub.MAX_SUBSCRIBERS - 1, hub.subscribers());
        subscriptions.add(hub.subscribe(ALL, OptionalLong.empty()));
        subscriptions.forEach(Subscription::close);
        assertEquals(0, hub.subscribers());
    }

    @Test
    void anEventIsCutToItsBoundWhateverItCarries() throws Exception {
        var hub = new EventHub(1);
        var subscription = hub.subscribe(ALL, OptionalLong.empty());
        String hostile = "\u0001\"\\".repeat(100_000);
        hub.publish(EventType.EXIT, Map.of("exit_code", 1, "stdout", List.of(hostile, hostile, hostile), "stderr", List.of(hostile)));
        var received = drain(subscription);
        byte[] data = received.getFirst().data().getBytes();
        assertTrue(data.length <= EventHub.MAX_EVENT_BYTES, data.length + " bytes");
        Map<String, Object> event = Json.readObject(data);
        assertEquals(1, event.get("exit_code"));
        assertEquals(3, ((List<?>) event.get("stdout")).size());
        assertTrue(((String) ((List<?>) event.get("stdout")).getFirst()).endsWith("…"));
    }

    @Test
    void closingTheHubEndsEachStreamAfterWhatItHoldsAndRefusesNewOnes() throws Exception {
        var hub = new EventHub(1);
        var subscription = hub.subscribe(ALL, OptionalLong.empty());
        publish(hub, 3, EventType.SHUTDOWN);
        hub.close();
        hub.publish(EventType.PHASE, Map.of());
        Frames frames = subscription.next(NO_WAIT);
        assertEquals(3, frames.frames().size());
        assertTrue(frames.last(), "nothing comes after what it held");
        assertThrows(EventHub.Refused.class, () -> hub.subscribe(ALL, OptionalLong.empty()));
    }

    /** A list that records the thread its elements are read on, and fails there when asked to. */
    private static final class WatchedList extends java.util.AbstractList<String> {
        final java.util.concurrent.CompletableFuture<Thread> readOn = new java.util.concurrent.CompletableFuture<>();
        private final boolean fails;

        WatchedList(boolean fails) {
            this.fails = fails;
        }

        @Override
        public String get(int index) {
            readOn.complete(Thread.currentThread());
            if (fails) {
                throw new IllegalStateException("cannot be read");
            }
            return "line";
        }

        @Override
        public int size() {
            return 1;
        }
    }

    @Test
    void anEventIsEncodedOffThePublishersThreadAndArrivesWhole() throws Exception {
        var hub = new EventHub(1);
        var subscription = hub.subscribe(ALL, OptionalLong.empty());
        var lines = new WatchedList(false);
        hub.publish(EventType.EXIT, Map.of("stdout", lines));
        Thread encoder = lines.readOn.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(encoder != Thread.currentThread(), "encoded on the publisher's thread");

        var received = drain(subscription);
        assertEquals(1, received.size());
        Map<String, Object> data = Json.readObject(received.getFirst().data().getBytes());
        assertEquals(List.of("line"), data.get("stdout"));
    }

    @Test
    void anEventThatCannotBeEncodedIsSkippedByClientsAndTheNextArrives() throws Exception {
        var hub = new EventHub(1);
        var subscription = hub.subscribe(ALL, OptionalLong.empty());
        var broken = new WatchedList(true);
        hub.publish(EventType.EXIT, Map.of("stdout", broken));
        hub.publish(EventType.PHASE, Map.of("phase", "exited"));

        var received = drain(subscription);
        assertEquals(List.of(2L), received.stream().map(EventHubTest::id).toList(), "the broken event is a comment");
        assertEquals("phase", received.getFirst().type());
    }
}
