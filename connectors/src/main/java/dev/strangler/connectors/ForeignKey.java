package dev.strangler.connectors;

import dev.strangler.core.TableId;

/** A foreign key: rows of {@code child} refer to rows of {@code parent}; {@code deferrable} when checked at commit if asked. */
public record ForeignKey(String name, TableId child, TableId parent, boolean deferrable) {
    @Override
    public String toString() {
        return child + " → " + parent + " (" + name + (deferrable ? ", deferrable" : "") + ")";
    }
}
