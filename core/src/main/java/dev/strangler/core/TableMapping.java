package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.config.TableRoute;

import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a monolith change into the row a service receives, per a {@link TableRoute}: renames the table
 * and columns, drops columns, and applies the row filter. A pure function of its input.
 *
 * <p>Row filter semantics: a row whose new image passes the filter is upserted; a row whose new image
 * fails it is deleted from the target (it may have passed before: it has left the filtered set); a
 * snapshot or insert row that fails is skipped. Deletes are always carried: deleting a row the
 * target never had changes nothing.
 */
public final class TableMapping {

    /** Debezium's stand-in for a TOAST value an UPDATE did not touch ({@code unavailable.value.placeholder}). */
    public static final String UNAVAILABLE_PLACEHOLDER = "__debezium_unavailable_value";
    private static final String UNAVAILABLE_BASE64 = Base64.getEncoder().encodeToString(UNAVAILABLE_PLACEHOLDER.getBytes());

    private final TableRoute route;
    private final byte[] maskKey;
    private final CustomTransform custom;
    private final Set<TableId> customTargets;

    public TableMapping(TableRoute route) {
        this(route, null);
    }

    /** @param maskKey the key of hash and fake masks ({@code sync.maskKey}), or null when the route has none */
    public TableMapping(TableRoute route, byte[] maskKey) {
        this.route = route;
        this.maskKey = maskKey == null ? null : maskKey.clone();
        this.custom = route.transform().custom().map(RowTransform.Custom::instantiate).orElse(null);
        Set<TableId> targets = new LinkedHashSet<>();
        targets.add(route.to());
        route.transform().custom().ifPresent(c -> targets.addAll(c.targets()));
        this.customTargets = Set.copyOf(targets);
    }

    /**
     * Every service row for this change: the one {@link #apply} makes, or what the table's custom transform
     * makes of the change (several rows, possibly in other tables).
     */
    public java.util.List<ApplyRecord> applyAll(ChangeEvent change) {
        Optional<ApplyRecord> mapped = apply(change);
        if (custom == null || change.op() == ChangeEvent.Op.TRUNCATE) {
            return mapped.map(java.util.List::of).orElse(java.util.List.of());
        }
        CustomTransform.Kind kind = switch (change.op()) {
            case READ -> CustomTransform.Kind.READ;
            case CREATE -> CustomTransform.Kind.INSERT;
            case DELETE -> CustomTransform.Kind.DELETE;
            default -> CustomTransform.Kind.UPDATE;
        };
        ObjectNode mappedRow = mapped.filter(a -> a.action() == ApplyRecord.Action.UPSERT).map(ApplyRecord::row).orElse(null);
        java.util.List<CustomTransform.Output> outputs = custom.apply(new CustomTransform.Change(kind, change.table(),
                change.key().deepCopy(), change.after() == null ? null : change.after().deepCopy(), route.to(),
                mappedRow == null ? null : mappedRow.deepCopy()));
        SourcePosition at = change.position();
        java.util.List<ApplyRecord> out = new java.util.ArrayList<>();
        for (CustomTransform.Output o : outputs == null ? java.util.List.<CustomTransform.Output>of() : outputs) {
            if (!customTargets.contains(o.table())) {
                throw new IllegalStateException("custom transform " + route.transform().custom().get().className() + " wrote to " + o.table()
                        + ", which is not " + route.to() + " or in " + route.path() + ".custom.targets " + customTargets);
            }
            if (o.key() == null || o.key().isEmpty() || (!o.delete() && o.row() == null)) {
                throw new IllegalStateException("custom transform " + route.transform().custom().get().className()
                        + " returned a row for " + o.table() + " without a key" + (o.delete() ? "" : " or without its values"));
            }
            Set<String> unchanged = o.table().equals(route.to()) && mapped.isPresent() && o.row() != null && o.row().equals(mappedRow)
                    ? mapped.get().unchanged() : Set.of();
            out.add(new ApplyRecord(o.table(), o.delete() ? ApplyRecord.Action.DELETE : ApplyRecord.Action.UPSERT, o.key(),
                    o.delete() ? null : o.row(), unchanged, at.version(), at.commitTimeMicros(), at.transactionId()));
        }
        return out;
    }

    public TableRoute route() {
        return route;
    }

    /** The row the service receives for this change, or empty when the change is not carried. */
    public Optional<ApplyRecord> apply(ChangeEvent change) {
        if (!change.table().equals(route.from())) {
            throw new IllegalArgumentException("route " + route.path() + " maps " + route.from() + ", not " + change.table());
        }
        SourcePosition at = change.position();
        if (change.op() == ChangeEvent.Op.TRUNCATE) {
            // every row of the target came from the source table (a filtered route: from its rows that passed)
            return route.onTruncate() == TableRoute.OnTruncate.CARRY
                    ? Optional.of(new ApplyRecord(route.to(), ApplyRecord.Action.TRUNCATE, JsonNodeFactory.instance.objectNode(), null,
                    Set.of(), at.version(), at.commitTimeMicros(), at.transactionId()))
                    : Optional.empty();
        }
        ObjectNode key = mapColumns(change.key(), null);
        if (change.op() == ChangeEvent.Op.DELETE) {
            return Optional.of(new ApplyRecord(route.to(), ApplyRecord.Action.DELETE, key, null, Set.of(),
                    at.version(), at.commitTimeMicros(), at.transactionId()));
        }
        ObjectNode after = change.after();
        boolean passes = route.where().map(f -> f.test(after)).orElse(true);
        if (!passes) {
            if (change.op() == ChangeEvent.Op.UPDATE) {
                return Optional.of(new ApplyRecord(route.to(), ApplyRecord.Action.DELETE, key, null, Set.of(),
                        at.version(), at.commitTimeMicros(), at.transactionId()));
            }
            return Optional.empty();
        }
        Set<String> unchanged = new LinkedHashSet<>();
        RowTransform transform = route.transform();
        if (transform.isEmpty()) {
            ObjectNode row = mapColumns(after, unchanged);
            return Optional.of(new ApplyRecord(route.to(), ApplyRecord.Action.UPSERT, key, row, unchanged,
                    at.version(), at.commitTimeMicros(), at.transactionId()));
        }
        Set<String> placeholders = new LinkedHashSet<>();
        after.fields().forEachRemaining(f -> {
            if (isPlaceholder(f.getValue())) {
                placeholders.add(f.getKey());
            }
        });
        ObjectNode known = after;
        if (!placeholders.isEmpty()) {
            // an unchanged TOAST value is not there to check, cast, mask or derive from: the target keeps its value
            known = after.deepCopy();
            known.remove(placeholders);
        }
        Optional<String> broken = transform.brokenRule(known);
        if (broken.isPresent()) {
            throw new RowTransform.RuleViolation(broken.get());
        }
        ObjectNode row = mapColumns(transform.castAndMask(known, maskKey), unchanged);
        for (String column : placeholders) {
            route.targetColumn(column).ifPresent(unchanged::add);
        }
        for (Map.Entry<String, ColumnExpression> derived : transform.derived().entrySet()) {
            if (derived.getValue().columns().stream().anyMatch(placeholders::contains)) {
                unchanged.add(derived.getKey());
            } else {
                row.set(derived.getKey(), derived.getValue().evaluate(known));
            }
        }
        return Optional.of(new ApplyRecord(route.to(), ApplyRecord.Action.UPSERT, key, row, unchanged,
                at.version(), at.commitTimeMicros(), at.transactionId()));
    }

    private static boolean isPlaceholder(JsonNode value) {
        return value.isTextual() && (UNAVAILABLE_PLACEHOLDER.equals(value.textValue()) || UNAVAILABLE_BASE64.equals(value.textValue()));
    }

    private ObjectNode mapColumns(ObjectNode source, Set<String> unchanged) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        Iterator<Map.Entry<String, JsonNode>> fields = source.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            Optional<String> target = route.targetColumn(field.getKey());
            if (target.isEmpty()) {
                continue;
            }
            JsonNode value = field.getValue();
            if (unchanged != null && value.isTextual()
                    && (UNAVAILABLE_PLACEHOLDER.equals(value.textValue()) || UNAVAILABLE_BASE64.equals(value.textValue()))) {
                unchanged.add(target.get());
            }
            out.set(target.get(), value);
        }
        return out;
    }
}
