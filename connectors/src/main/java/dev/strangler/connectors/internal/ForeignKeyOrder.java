package dev.strangler.connectors.internal;

import dev.strangler.connectors.ForeignKey;
import dev.strangler.core.TableId;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The order in which the writer touches a service's tables, from the foreign keys among them:
 * parents before children for inserts and updates, children before parents for deletes. Tables
 * that do not depend on each other keep the order of the config.
 *
 * <p>Foreign keys that form a cycle (a → b → a) admit no such order. If every key of the cycle is
 * {@code DEFERRABLE}, the writer defers constraint checks to the end of each transaction and the
 * tables of the cycle keep config order; otherwise {@link #of} refuses, naming the cycle and the ways
 * out. A table that refers to itself is not a cycle: its rows are written in source order.
 */
public final class ForeignKeyOrder {

    private final Map<TableId, Integer> positions;
    private final Map<TableId, Set<TableId>> parents;
    private final Map<TableId, Set<TableId>> children;
    private final boolean deferConstraints;

    private ForeignKeyOrder(Map<TableId, Integer> positions, Map<TableId, Set<TableId>> parents, Map<TableId, Set<TableId>> children,
                            boolean deferConstraints) {
        this.positions = positions;
        this.parents = parents;
        this.children = children;
        this.deferConstraints = deferConstraints;
    }

    /** Thrown when foreign keys form a cycle that the writer cannot order or defer. */
    public static final class CycleException extends Exception {
        CycleException(String message) {
            super(message);
        }
    }

    /**
     * @param tables the service's target tables in config order
     * @param keys   the foreign keys among them
     */
    public static ForeignKeyOrder of(List<TableId> tables, List<ForeignKey> keys) throws CycleException {
        Map<TableId, Integer> configOrder = new HashMap<>();
        for (TableId t : tables) {
            configOrder.putIfAbsent(t, configOrder.size());
        }
        Map<TableId, Set<TableId>> parents = new LinkedHashMap<>();
        Map<TableId, Set<TableId>> children = new HashMap<>();
        for (TableId t : configOrder.keySet()) {
            parents.put(t, new LinkedHashSet<>());
            children.put(t, new LinkedHashSet<>());
        }
        for (ForeignKey fk : keys) {
            if (!configOrder.containsKey(fk.child()) || !configOrder.containsKey(fk.parent())) {
                continue;
            }
            children.get(fk.parent()).add(fk.child());
            if (!fk.child().equals(fk.parent())) {
                parents.get(fk.child()).add(fk.parent());
            }
        }
        List<List<TableId>> components = stronglyConnected(tables.stream().distinct().toList(), parents);
        boolean defer = false;
        for (List<TableId> component : components) {
            if (component.size() < 2) {
                continue;
            }
            Set<TableId> members = new HashSet<>(component);
            List<ForeignKey> cycle = keys.stream()
                    .filter(k -> members.contains(k.child()) && members.contains(k.parent()) && !k.child().equals(k.parent())).toList();
            List<ForeignKey> immediate = cycle.stream().filter(k -> !k.deferrable()).toList();
            if (!immediate.isEmpty()) {
                ForeignKey example = immediate.get(0);
                throw new CycleException("the foreign keys among tables " + component + " form a cycle: "
                        + cycle.stream().map(ForeignKey::toString).collect(Collectors.joining(", "))
                        + ". No order of inserts and deletes satisfies them at every statement. Either make the keys of the cycle"
                        + " deferrable (for example: ALTER TABLE " + example.child() + " ALTER CONSTRAINT " + example.name()
                        + " DEFERRABLE INITIALLY IMMEDIATE), and the writer checks them at commit; or drop one of them in the service database");
            }
            defer = true;
        }
        // place components parents first; among those ready, the one that comes first in the config
        Map<TableId, Integer> positions = new LinkedHashMap<>();
        Map<TableId, List<TableId>> componentOf = new HashMap<>();
        components.forEach(c -> c.forEach(t -> componentOf.put(t, c)));
        Set<List<TableId>> placed = new HashSet<>();
        List<List<TableId>> remaining = new ArrayList<>(components);
        remaining.sort(Comparator.comparingInt(c -> c.stream().mapToInt(configOrder::get).min().orElse(0)));
        while (!remaining.isEmpty()) {
            List<TableId> next = null;
            for (List<TableId> c : remaining) {
                boolean ready = c.stream().flatMap(t -> parents.get(t).stream()).map(componentOf::get)
                        .allMatch(p -> p == c || placed.contains(p));
                if (ready) {
                    next = c;
                    break;
                }
            }
            remaining.remove(next);
            placed.add(next);
            next.stream().sorted(Comparator.comparingInt(configOrder::get)).forEach(t -> positions.put(t, positions.size()));
        }
        return new ForeignKeyOrder(Map.copyOf(positions), parents, children, defer);
    }

    /** Position of each table: lower is written first for inserts and updates, last for deletes. */
    public Map<TableId, Integer> positions() {
        return positions;
    }

    /** Whether the writer must run {@code SET CONSTRAINTS ALL DEFERRED} (a cycle of deferrable keys). */
    public boolean deferConstraints() {
        return deferConstraints;
    }

    /**
     * The tables whose waiting rows new rows of {@code tables} may release: the tables themselves (a
     * table that refers to itself), every table below them (children, their children, ...: a chain
     * resolves in one pass) and the tables they refer to (a parent's delete waits for its children's).
     */
    public Set<TableId> releasedBy(Set<TableId> tables) {
        Set<TableId> out = new HashSet<>(tables);
        Deque<TableId> todo = new ArrayDeque<>(tables);
        while (!todo.isEmpty()) {
            for (TableId child : children.getOrDefault(todo.pop(), Set.of())) {
                if (out.add(child)) {
                    todo.push(child);
                }
            }
        }
        for (TableId t : tables) {
            out.addAll(parents.getOrDefault(t, Set.of()));
        }
        return out;
    }

    /** Tarjan's strongly connected components of the child → parent graph. */
    private static List<List<TableId>> stronglyConnected(List<TableId> tables, Map<TableId, Set<TableId>> parents) {
        Map<TableId, Integer> index = new HashMap<>();
        Map<TableId, Integer> low = new HashMap<>();
        Deque<TableId> stack = new ArrayDeque<>();
        Set<TableId> onStack = new HashSet<>();
        List<List<TableId>> out = new ArrayList<>();
        for (TableId t : tables) {
            if (!index.containsKey(t)) {
                connect(t, parents, index, low, stack, onStack, out);
            }
        }
        return out;
    }

    private static void connect(TableId v, Map<TableId, Set<TableId>> parents, Map<TableId, Integer> index, Map<TableId, Integer> low,
                                Deque<TableId> stack, Set<TableId> onStack, List<List<TableId>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (TableId w : parents.get(v)) {
            if (!index.containsKey(w)) {
                connect(w, parents, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<TableId> component = new ArrayList<>();
            TableId w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            out.add(component);
        }
    }
}
