package dev.strangler.cli;

import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.DeadLetter;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The dead-letter topic as read by the CLI: every letter with its place on the topic and whether a replay
 * marker says it was replayed already.
 */
final class DeadLetterLog {

    /** One letter and where it sits on the dead-letter topic. */
    record Item(int partition, long offset, DeadLetter letter, boolean replayed) {
    }

    private final List<Item> items;
    private final int foreign;

    private DeadLetterLog(List<Item> items, int foreign) {
        this.items = List.copyOf(items);
        this.foreign = foreign;
    }

    static DeadLetterLog read(KafkaTopics topics, String topic) {
        List<Item> letters = new ArrayList<>();
        Set<String> replayed = new HashSet<>();
        int[] foreign = {0};
        topics.readToEnd(topic, r -> {
            DeadLetter.Entry entry = DeadLetter.read(r.value());
            if (entry instanceof DeadLetter.Letter l) {
                letters.add(new Item(r.partition(), r.offset(), l.letter(), false));
            } else if (entry instanceof DeadLetter.Marker m) {
                replayed.add(m.replay().partition() + "@" + m.replay().offset());
            } else {
                foreign[0]++;
            }
        });
        List<Item> items = letters.stream()
                .map(i -> new Item(i.partition(), i.offset(), i.letter(), replayed.contains(i.partition() + "@" + i.offset())))
                .toList();
        return new DeadLetterLog(items, foreign[0]);
    }

    List<Item> all() {
        return items;
    }

    /** Letters not replayed yet. */
    List<Item> pending() {
        return items.stream().filter(i -> !i.replayed()).toList();
    }

    /** Records on the topic that are neither letters nor markers (written by something else). */
    int foreign() {
        return foreign;
    }
}
