package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.CustomTransform;
import dev.strangler.core.Json;
import dev.strangler.core.TableId;

import java.util.List;
import java.util.Map;

/**
 * The example custom transform of docs/transforms.md: one monolith {@code customers} row becomes a service
 * {@code customers} row (without the address, which the route drops) and an {@code addresses} row.
 */
public final class SplitAddresses implements CustomTransform {

    private TableId addresses;

    @Override
    public void configure(Map<String, String> options) {
        addresses = TableId.parse(options.getOrDefault("addresses", "public.addresses"));
    }

    @Override
    public List<Output> apply(Change change) {
        ObjectNode addressKey = Json.mapper().createObjectNode().set("customer_id", change.key().get("id"));
        if (change.kind() == Kind.DELETE) {
            return List.of(Output.delete(addresses, addressKey), Output.delete(change.target(), change.key()));
        }
        if (change.mapped() == null) {
            return List.of();
        }
        ObjectNode address = addressKey.deepCopy();
        address.set("street", change.row().get("street"));
        address.set("city", change.row().get("city"));
        return List.of(Output.upsert(change.target(), change.key(), change.mapped()), Output.upsert(addresses, addressKey, address));
    }
}
