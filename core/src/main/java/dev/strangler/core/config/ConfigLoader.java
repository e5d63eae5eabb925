package dev.strangler.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.strangler.core.RowFilter;
import dev.strangler.core.TableId;
import dev.strangler.core.config.internal.ConfigNode;
import dev.strangler.core.config.internal.EnvSubstitution;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Reads the one YAML file that configures Strangler. Each key is declared once, here, with its
 * default and its check; docs/configuration.md documents the same keys. Reading never stops at the
 * first mistake: {@link #load} throws one {@link ConfigException} that lists every problem with the
 * path of its field. Checks that need a live database (does the table exist?) are made at start-up
 * by the connectors, in the same form.
 */
public final class ConfigLoader {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,62}");
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*");

    private final Function<String, String> environment;
    private final Path workingDirectory;

    public ConfigLoader(Function<String, String> environment, Path workingDirectory) {
        this.environment = environment;
        this.workingDirectory = workingDirectory;
    }

    /** A loader reading the process environment, resolving relative paths against the current directory. */
    public static ConfigLoader fromEnvironment() {
        return new ConfigLoader(System::getenv, Path.of("").toAbsolutePath());
    }

    public StranglerConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of(new ConfigProblem("",
                    "cannot read the config file: " + e.getClass().getSimpleName() + ": " + e.getMessage())));
        }
        return parse(text, file.toString());
    }

    public StranglerConfig parse(String yaml, String source) {
        List<ConfigProblem> problems = new ArrayList<>();
        ObjectNode tree = readTree(yaml, problems);
        if (tree == null) {
            throw new ConfigException(source, problems);
        }
        new EnvSubstitution(environment).apply(tree, "", problems);
        ConfigNode root = ConfigNode.root(tree, problems);
        StranglerConfig config = bind(root);
        if (!problems.isEmpty()) {
            throw new ConfigException(source, problems);
        }
        return config;
    }

    private static ObjectNode readTree(String yaml, List<ConfigProblem> problems) {
        ObjectMapper mapper = new ObjectMapper(YAMLFactory.builder()
                .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
        try {
            JsonNode node = mapper.readTree(yaml);
            if (node == null || node.isMissingNode() || node.isNull()) {
                problems.add(new ConfigProblem("", "the file is empty; start from the example in docs/configuration.md"));
                return null;
            }
            if (!node.isObject()) {
                problems.add(new ConfigProblem("", "the file must be a YAML mapping (kafka:, monolith:, services:), not a "
                        + node.getNodeType().toString().toLowerCase()));
                return null;
            }
            return (ObjectNode) node;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ";
            problems.add(new ConfigProblem("", where + "not valid YAML: " + e.getOriginalMessage()));
            return null;
        }
    }

    private StranglerConfig bind(ConfigNode root) {
        KafkaSettings kafka = kafka(root.object("kafka"));
        ConfigNode monolithNode = root.object("monolith");
        DatabaseSettings monolith = database(monolithNode, true);
        monolithNode.finish();
        CaptureSettings capture = capture(root.object("capture"));
        Map<String, ServiceSettings> services = services(root);
        SyncSettings sync = sync(root.object("sync"));
        WriterSettings writer = writer(root.object("writer"));
        HttpSettings http = http(root.object("http"));
        ValidatorSettings validator = validator(root.object("validator"));
        Optional<RouterSettings> router = root.has("router") ? Optional.of(new RouterConfigReader().read(root.object("router")))
                : Optional.empty();
        root.finish();
        checkCrossReferences(root, services);
        checkMaskKey(root, services, sync);
        services.values().stream().filter(s -> s.database().type().binlog()).forEach(s -> s.tables().forEach(r -> {
            if (r.twoWay()) {
                root.problem(r.path() + ".direction", "two-way sync needs a PostgreSQL service database (a " + s.database().type().configName()
                        + " service is written one-way)");
            }
            if (r.to().toString().contains(",")) {
                root.problem(r.path() + ".to", "a table in a " + s.database().type().configName() + " service cannot have ',' in its name: '" + r.to() + "'");
            }
        }));
        if (capture.snapshot() == CaptureSettings.SnapshotMode.COPY) {
            checkCopy(root, monolith, services);
        }
        if (monolith.type().binlog()) {
            services.values().forEach(s -> s.tables().stream().filter(TableRoute::twoWay).forEach(r ->
                    root.problem(r.path() + ".direction", "two-way sync needs a PostgreSQL monolith (a " + monolith.type().configName()
                            + " monolith is one-way for now)")));
        }
        return new StranglerConfig(kafka, monolith, capture, services, sync, writer, http, validator, router);
    }

    /**
     * {@code capture.snapshot: copy} moves rows with PostgreSQL's COPY, as they are: it needs PostgreSQL on both ends
     * and routes that carry rows unchanged (renames, dropped columns and a row filter are fine).
     */
    private static void checkCopy(ConfigNode root, DatabaseSettings monolith, Map<String, ServiceSettings> services) {
        String instead = "; use capture.snapshot: incremental or initial";
        if (monolith.type() != DatabaseType.POSTGRES) {
            root.problem("capture.snapshot", "copy needs a PostgreSQL monolith, not " + monolith.type().configName() + instead);
        }
        for (ServiceSettings s : services.values()) {
            if (s.database().type() != DatabaseType.POSTGRES) {
                root.problem("capture.snapshot", "copy needs PostgreSQL services; service " + s.name() + " is "
                        + s.database().type().configName() + instead);
                continue;
            }
            for (TableRoute r : s.tables()) {
                if (r.twoWay()) {
                    root.problem(r.path() + ".direction", "capture.snapshot: copy does not copy into two-way tables (its rows would be "
                            + "captured back without the writer's origin marker)" + instead);
                } else if (!r.transform().isEmpty()) {
                    root.problem(r.path(), "capture.snapshot: copy carries rows as they are and this route transforms them (derive, cast, "
                            + "mask, rules or custom)" + instead);
                }
            }
        }
    }

    private KafkaSettings kafka(ConfigNode n) {
        String bootstrap = n.string("bootstrap", KafkaSettings.EMBEDDED).trim();
        if (!bootstrap.equals(KafkaSettings.EMBEDDED)) {
            for (String server : bootstrap.split(",")) {
                if (!server.trim().matches("[^:\\s]+:\\d{1,5}")) {
                    n.problem("bootstrap", "'" + server.trim() + "' is not host:port; write \"embedded\" or \"host1:9092,host2:9092\"");
                }
            }
        }
        String prefix = n.string("topicPrefix", "strangler");
        if (!prefix.matches("[A-Za-z0-9._-]{1,100}")) {
            n.problem("topicPrefix", "may hold only letters, digits, '.', '_' and '-' (a Kafka topic name part), not '" + prefix + "'");
        }
        String dataDir = n.string("dataDir", "strangler-data/kafka");
        int partitions = n.integer("partitions", 1, 1, 1000);
        int replication = n.integer("replicationFactor", 1, 1, 32);
        Map<String, String> properties = new LinkedHashMap<>();
        ConfigNode props = n.object("properties");
        props.entries().forEachRemaining(e -> {
            if (e.getValue().isContainerNode()) {
                props.problem(e.getKey(), "must be a single value (a Kafka client property)");
            } else {
                properties.put(e.getKey(), e.getValue().asText());
            }
        });
        n.finish();
        if (bootstrap.equals(KafkaSettings.EMBEDDED) && replication > 1) {
            n.problem("replicationFactor", "the embedded broker is a single node; replicationFactor must be 1 with bootstrap: embedded");
        }
        return new KafkaSettings(bootstrap, prefix, workingDirectory.resolve(dataDir).normalize(), partitions,
                (short) replication, properties);
    }

    private DatabaseSettings database(ConfigNode n, boolean isMonolith) {
        DatabaseType type = n.choice("type", DatabaseType.POSTGRES, DatabaseType::configName, DatabaseType.values());
        String url = n.requiredString("url", isMonolith ? "jdbc:postgresql://127.0.0.1:5432/shop" : "jdbc:postgresql://127.0.0.1:5433/orders");
        if (url != null && type == DatabaseType.POSTGRES && !url.startsWith("jdbc:postgresql://")) {
            n.problem("url", "a postgres url starts with jdbc:postgresql://host:port/database, not '" + url + "'");
        }
        if (url != null && type == DatabaseType.MARIADB && !url.startsWith("jdbc:mariadb://") && !url.startsWith("jdbc:mysql://")) {
            n.problem("url", "a mariadb url starts with jdbc:mariadb://host:port/database, not '" + url + "'");
        }
        if (url != null && type == DatabaseType.MYSQL && !url.startsWith("jdbc:mysql://")) {
            n.problem("url", "a mysql url starts with jdbc:mysql://host:port/database, not '" + url + "'");
        }
        String user = n.requiredString("user", isMonolith ? "strangler" : "orders");
        Secret password = Secret.of(n.string("password", ""));
        return new DatabaseSettings(type, url, user, password);
    }

    private CaptureSettings capture(ConfigNode n) {
        CaptureSettings.SnapshotMode snapshot = n.choice("snapshot", CaptureSettings.SnapshotMode.INITIAL,
                CaptureSettings.SnapshotMode::configName, CaptureSettings.SnapshotMode.values());
        Duration poll = n.duration("pollInterval", Duration.ofMillis(10), Duration.ofMillis(1));
        Duration heartbeat = n.duration("heartbeatInterval", Duration.ofSeconds(10), Duration.ofMillis(100));
        String slot = n.string("slotName", "strangler");
        if (!slot.matches("[a-z0-9_]{1,63}")) {
            n.problem("slotName", "a replication slot name has only lower-case letters, digits and '_' (at most 63), not '" + slot + "'");
        }
        String publication = n.string("publicationName", "strangler");
        if (!IDENTIFIER.matcher(publication).matches()) {
            n.problem("publicationName", "must be a plain SQL identifier, not '" + publication + "'");
        }
        int chunk = n.integer("copyChunkRows", CaptureSettings.DEFAULT_COPY_CHUNK_ROWS, 100, 10_000_000);
        int threads = n.integer("copyThreads", CaptureSettings.DEFAULT_COPY_THREADS, 1, 32);
        String indexMemory = n.string("copyIndexMemory", CaptureSettings.DEFAULT_COPY_INDEX_MEMORY).trim();
        if (!indexMemory.isEmpty() && !indexMemory.matches("[1-9][0-9]*(kB|MB|GB)")) {
            n.problem("copyIndexMemory", "is a PostgreSQL size such as 256MB or 1GB (kB, MB or GB), or \"\" for the server's "
                    + "maintenance_work_mem; not '" + indexMemory + "'");
        }
        n.finish();
        return new CaptureSettings(snapshot, poll, heartbeat, slot, publication, chunk, threads, indexMemory);
    }

    /** A hash or fake mask needs {@code sync.maskKey}: every table that uses one without it is a problem. */
    private static void checkMaskKey(ConfigNode root, Map<String, ServiceSettings> services, SyncSettings sync) {
        if (!sync.maskKey().isEmpty()) {
            return;
        }
        for (ServiceSettings service : services.values()) {
            for (TableRoute route : service.tables()) {
                if (route.transform().needsMaskKey()) {
                    root.problem("sync.maskKey", "is required: " + route.path() + ".mask hashes or fakes values, which needs a secret key "
                            + "(set sync.maskKey: ${STRANGLER_MASK_KEY} and the variable to a random value of at least 16 characters; "
                            + "keep it: another key gives other values)");
                }
            }
        }
    }

    /** derive, cast, mask, rules and onRuleViolation of a table (docs/transforms.md). */
    private static dev.strangler.core.RowTransform transform(ConfigNode t, List<String> key) {
        Map<String, dev.strangler.core.ColumnExpression> derived = new LinkedHashMap<>();
        if (t.present("derive")) {
            ConfigNode node = t.object("derive");
            node.entries().forEachRemaining(e -> {
                if (!IDENTIFIER.matcher(e.getKey()).matches()) {
                    node.problem(e.getKey(), "is not a column name");
                } else if (!e.getValue().isTextual()) {
                    node.problem(e.getKey(), "must be a SQL expression in quotes, e.g. \"first_name || ' ' || last_name\"");
                } else {
                    try {
                        derived.put(e.getKey(), dev.strangler.core.ColumnExpression.value(e.getValue().asText()));
                    } catch (IllegalArgumentException ex) {
                        node.problem(e.getKey(), ex.getMessage());
                    }
                }
            });
        }
        Map<String, String> casts = new LinkedHashMap<>();
        if (t.present("cast")) {
            ConfigNode node = t.object("cast");
            node.entries().forEachRemaining(e -> {
                if (key.contains(e.getKey())) {
                    node.problem(e.getKey(), "is part of key: and cannot be cast (rows are found by it)");
                } else if (!e.getValue().isTextual()) {
                    node.problem(e.getKey(), "must be a SQL type, e.g. bigint or numeric(12,2)");
                } else {
                    try {
                        dev.strangler.core.RowTransform.checkCastType(e.getValue().asText());
                        casts.put(e.getKey(), e.getValue().asText());
                    } catch (IllegalArgumentException ex) {
                        node.problem(e.getKey(), ex.getMessage());
                    }
                }
            });
        }
        Map<String, dev.strangler.core.Mask> masks = new LinkedHashMap<>();
        if (t.present("mask")) {
            ConfigNode node = t.object("mask");
            node.entries().forEachRemaining(e -> {
                if (key.contains(e.getKey())) {
                    node.problem(e.getKey(), "is part of key: and cannot be masked (rows are found by it)");
                } else {
                    try {
                        masks.put(e.getKey(), dev.strangler.core.Mask.parse(e.getValue().asText()));
                    } catch (IllegalArgumentException ex) {
                        node.problem(e.getKey(), ex.getMessage());
                    }
                }
            });
        }
        List<dev.strangler.core.ColumnExpression> rules = new ArrayList<>();
        JsonNode rulesNode = t.raw("rules");
        if (rulesNode != null && !rulesNode.isNull()) {
            if (!rulesNode.isArray()) {
                t.problem("rules", "must be a list of SQL conditions, e.g. rules: [\"email is not null\", \"quantity >= 0\"]");
            } else {
                for (int i = 0; i < rulesNode.size(); i++) {
                    try {
                        rules.add(dev.strangler.core.ColumnExpression.condition(rulesNode.get(i).asText()));
                    } catch (IllegalArgumentException ex) {
                        t.problem("rules[" + i + "]", ex.getMessage());
                    }
                }
            }
        }
        dev.strangler.core.RowTransform.OnViolation onViolation = t.choice("onRuleViolation", dev.strangler.core.RowTransform.OnViolation.DEAD_LETTER,
                dev.strangler.core.RowTransform.OnViolation::configName, dev.strangler.core.RowTransform.OnViolation.values());
        Optional<dev.strangler.core.RowTransform.Custom> custom = Optional.empty();
        if (t.present("custom")) {
            ConfigNode node = t.object("custom");
            String className = node.requiredString("class", "com.example.SplitAddresses");
            List<TableId> targets = new ArrayList<>();
            JsonNode targetsNode = node.raw("targets");
            if (targetsNode != null && !targetsNode.isNull()) {
                if (!targetsNode.isArray()) {
                    node.problem("targets", "must be a list of service tables, e.g. targets: [public.addresses]");
                } else {
                    for (JsonNode target : targetsNode) {
                        try {
                            targets.add(TableId.parse(target.asText()));
                        } catch (IllegalArgumentException e) {
                            node.problem("targets", e.getMessage());
                        }
                    }
                }
            }
            Map<String, String> options = new LinkedHashMap<>();
            if (node.present("options")) {
                node.object("options").entries().forEachRemaining(e -> options.put(e.getKey(), e.getValue().asText()));
            }
            node.finish();
            if (className != null) {
                dev.strangler.core.RowTransform.Custom spec = new dev.strangler.core.RowTransform.Custom(className, targets, options);
                try {
                    spec.instantiate();
                    custom = Optional.of(spec);
                } catch (IllegalStateException e) {
                    node.problem("class", e.getMessage());
                }
            }
        }
        if (derived.isEmpty() && casts.isEmpty() && masks.isEmpty() && rules.isEmpty() && custom.isEmpty()) {
            return dev.strangler.core.RowTransform.NONE;
        }
        return new dev.strangler.core.RowTransform(derived, casts, masks, rules, onViolation, custom);
    }

    private SyncSettings sync(ConfigNode n) {
        String stateDir = n.string("stateDir", "strangler-data/streams");
        Duration commitInterval = n.duration("commitInterval", Duration.ofMillis(25), Duration.ofMillis(1));
        Duration transactionTimeout = n.duration("transactionTimeout", Duration.ofSeconds(60), Duration.ofSeconds(1));
        String instanceId = n.string("instanceId", defaultInstanceId());
        Duration conflictWindow = n.duration("conflictWindow", Duration.ofSeconds(10), Duration.ZERO);
        Secret maskKey = Secret.of(n.string("maskKey", ""));
        if (!maskKey.isEmpty() && maskKey.reveal().length() < 16) {
            n.problem("maskKey", "is too short to keep hashed values from being guessed: use at least 16 characters "
                    + "(e.g. maskKey: ${STRANGLER_MASK_KEY} with a random 32-character value)");
        }
        if (!instanceId.matches("[A-Za-z0-9._-]{1,200}")) {
            n.problem("instanceId", "may hold only letters, digits, '.', '_' and '-', not '" + instanceId + "'");
        }
        n.finish();
        return new SyncSettings(workingDirectory.resolve(stateDir).normalize(), commitInterval, transactionTimeout, instanceId, conflictWindow,
                maskKey);
    }

    private String defaultInstanceId() {
        String host = environment.apply("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                host = "strangler";
            }
        }
        return host.replaceAll("[^A-Za-z0-9._-]", "-");
    }

    private WriterSettings writer(ConfigNode n) {
        int maxBatch = n.integer("maxBatchRows", 5000, 1, 1_000_000);
        Duration pollTimeout = n.duration("pollTimeout", Duration.ofMillis(20), Duration.ofMillis(1));
        Duration parkTimeout = n.duration("parkTimeout", Duration.ofHours(1), Duration.ofSeconds(1));
        n.finish();
        return new WriterSettings(maxBatch, pollTimeout, parkTimeout);
    }

    private ValidatorSettings validator(ConfigNode n) {
        int segmentRows = n.integer("segmentRows", 10_000, 100, 10_000_000);
        int fetchRows = n.integer("fetchRows", 10_000, 16, 1_000_000);
        Duration recheckAfter = n.duration("recheckAfter", Duration.ofSeconds(5), Duration.ZERO);
        int sampleSize = n.integer("sampleSize", 100, 0, 100_000);
        Duration interval = n.duration("interval", Duration.ofMinutes(15), Duration.ofSeconds(1));
        int maxRowsPerSecond = n.integer("maxRowsPerSecond", 50_000, 0, Integer.MAX_VALUE);
        int autoRepairMaxRows = n.integer("autoRepairMaxRows", 1000, 0, 10_000_000);
        n.finish();
        return new ValidatorSettings(segmentRows, fetchRows, recheckAfter, sampleSize, interval, maxRowsPerSecond, autoRepairMaxRows);
    }

    private HttpSettings http(ConfigNode n) {
        String host = n.string("host", "127.0.0.1");
        int port = n.integer("port", 8080, 0, 65535);
        n.finish();
        return new HttpSettings(host, port);
    }

    private Map<String, ServiceSettings> services(ConfigNode root) {
        Map<String, ServiceSettings> services = new LinkedHashMap<>();
        if (!root.has("services")) {
            root.problem("services", "is required: name at least one service and the tables it receives (see docs/configuration.md)");
            return services;
        }
        ConfigNode all = root.object("services");
        Iterator<Map.Entry<String, JsonNode>> entries = all.entries();
        if (!entries.hasNext() && all.node().isObject()) {
            all.problem(null, "names no service; add one, e.g. services: {orders: {url: ..., tables: [...]}}");
        }
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            String name = entry.getKey();
            ConfigNode s = all.object(name);
            if (!NAME.matcher(name).matches()) {
                all.problem(name, "a service name has lower-case letters, digits, '_' and '-' and starts with a letter, not '" + name + "'");
            }
            DatabaseSettings database = database(s, false);
            boolean createTables = s.bool("createTables", true);
            TableRoute.Direction direction = s.choice("direction", TableRoute.Direction.ONE_WAY, TableRoute.Direction::configName,
                    TableRoute.Direction.values());
            if (name.equals(dev.strangler.core.TopicNames.MONOLITH_ORIGIN)) {
                all.problem(name, "'monolith' names the monolith in topic names; give the service another name");
            }
            List<TableRoute> tables = tables(s, direction);
            s.finish();
            services.put(name, new ServiceSettings(name, database, tables, createTables));
        }
        return services;
    }

    private List<TableRoute> tables(ConfigNode s, TableRoute.Direction serviceDirection) {
        List<TableRoute> routes = new ArrayList<>();
        JsonNode list = s.raw("tables");
        if (list == null || list.isNull()) {
            s.problem("tables", "is required: list the monolith tables this service receives, e.g. tables: [{from: public.orders}]");
            return routes;
        }
        if (!list.isArray()) {
            s.problem("tables", "must be a list of tables, e.g. tables: [{from: public.orders}]");
            return routes;
        }
        for (int i = 0; i < list.size(); i++) {
            String path = s.pathOf("tables") + "[" + i + "]";
            JsonNode item = list.get(i);
            if (item.isTextual()) {
                item = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("from", item.asText());
            }
            if (!item.isObject()) {
                s.problem("tables", "entry " + i + " must be a mapping with at least from: schema.table");
                continue;
            }
            route(new ConfigNode(item, path, s.problems()), path, serviceDirection).ifPresent(routes::add);
        }
        return routes;
    }

    private Optional<TableRoute> route(ConfigNode t, String path, TableRoute.Direction serviceDirection) {
        TableId from = tableId(t, "from", true);
        TableId to = t.has("to") ? tableId(t, "to", false) : from;
        Map<String, String> renames = new LinkedHashMap<>();
        Set<String> dropped = new LinkedHashSet<>();
        if (t.present("columns")) {
            ConfigNode columns = t.object("columns");
            Set<String> targets = new HashSet<>();
            columns.entries().forEachRemaining(e -> {
                if (!IDENTIFIER.matcher(e.getKey()).matches()) {
                    columns.problem(e.getKey(), "is not a column name");
                }
                JsonNode v = e.getValue();
                if (v == null || v.isNull()) {
                    dropped.add(e.getKey());
                } else if (v.isTextual() && IDENTIFIER.matcher(v.asText()).matches()) {
                    if (!targets.add(v.asText())) {
                        columns.problem(e.getKey(), "renames to '" + v.asText() + "', which another column is renamed to already");
                    }
                    renames.put(e.getKey(), v.asText());
                } else {
                    columns.problem(e.getKey(), "must be the target column name, or null to drop the column, not " + v);
                }
            });
        }
        Optional<RowFilter> where = Optional.empty();
        String whereText = t.string("where", null);
        if (whereText != null) {
            try {
                where = Optional.of(RowFilter.compile(whereText));
            } catch (IllegalArgumentException e) {
                t.problem("where", e.getMessage());
            }
        }
        TableRoute.Consistency consistency = t.choice("consistency", TableRoute.Consistency.TRANSACTION,
                TableRoute.Consistency::configName, TableRoute.Consistency.values());
        TableRoute.Repair repair = t.choice("repair", TableRoute.Repair.OFF, TableRoute.Repair::configName, TableRoute.Repair.values());
        List<String> key = new ArrayList<>();
        JsonNode keyNode = t.raw("key");
        if (keyNode != null && !keyNode.isNull()) {
            if (!keyNode.isArray() || keyNode.isEmpty()) {
                t.problem("key", "must be a list of the columns that identify a row, e.g. key: [order_id, line_no]");
            } else {
                for (JsonNode column : keyNode) {
                    if (!IDENTIFIER.matcher(column.asText()).matches()) {
                        t.problem("key", "'" + column.asText() + "' is not a column name");
                    } else if (key.contains(column.asText())) {
                        t.problem("key", "names " + column.asText() + " twice");
                    } else {
                        key.add(column.asText());
                    }
                }
            }
        }
        TableRoute.OnError onError = t.choice("onError", TableRoute.OnError.DEAD_LETTER, TableRoute.OnError::configName,
                TableRoute.OnError.values());
        TableRoute.OnTruncate onTruncate = t.choice("onTruncate", TableRoute.OnTruncate.CARRY, TableRoute.OnTruncate::configName,
                TableRoute.OnTruncate.values());
        TableRoute.Direction direction = t.choice("direction", serviceDirection, TableRoute.Direction::configName,
                TableRoute.Direction.values());
        dev.strangler.core.RowTransform transform = transform(t, key);
        if (direction == TableRoute.Direction.TWO_WAY) {
            if (!transform.isEmpty()) {
                t.problem("derive", "derive, cast, mask and rules cannot be inverted yet: a two-way table carries columns as they are; "
                        + "set direction: one-way for this table or remove them");
            }
            // every reason a mapping cannot be run backwards, said where it is declared
            if (where.isPresent()) {
                t.problem("where", "a row filter cannot be inverted: rows the service writes outside the filter would reach the monolith "
                        + "while the monolith's rows outside it never reach the service; remove where: or set direction: one-way");
            }
            if (consistency == TableRoute.Consistency.PER_ROW) {
                t.problem("consistency", "two-way tables need consistency: transaction (loop prevention recognises the writer's own "
                        + "transactions); remove consistency: per-row or set direction: one-way");
            }
            for (String column : key) {
                if (dropped.contains(column)) {
                    t.problem("columns." + column, "is part of key: and cannot be dropped in a two-way table: the monolith row "
                            + "could not be found on the way back");
                }
            }
        }
        t.finish();
        if (from == null || to == null) {
            return Optional.empty();
        }
        return Optional.of(new TableRoute(path, from, to, renames, dropped, where, consistency, repair, key, direction, onError, onTruncate,
                transform));
    }

    static TableId tableId(ConfigNode n, String key, boolean required) {
        String text = required ? n.requiredString(key, "public.orders") : n.string(key, null);
        if (text == null) {
            return null;
        }
        try {
            TableId id = TableId.parse(text);
            if (!IDENTIFIER.matcher(id.schema()).matches() || !IDENTIFIER.matcher(id.table()).matches()) {
                n.problem(key, "'" + text + "' is not schema.table with plain identifiers (letters, digits, '_')");
                return null;
            }
            return id;
        } catch (IllegalArgumentException e) {
            n.problem(key, e.getMessage());
            return null;
        }
    }

    private static void checkCrossReferences(ConfigNode root, Map<String, ServiceSettings> services) {
        Map<String, String> targets = new LinkedHashMap<>();
        Map<TableId, String> twoWay = new LinkedHashMap<>();
        for (ServiceSettings service : services.values()) {
            for (TableRoute route : service.tables()) {
                if (route.twoWay()) {
                    String earlier = twoWay.putIfAbsent(route.from(), route.path());
                    if (earlier != null) {
                        root.problems().add(new ConfigProblem(route.path() + ".direction", "makes " + route.from()
                                + " two-way a second time (" + earlier + " does already); the monolith table can take writes back "
                                + "from one service only: set direction: one-way on one of them"));
                    }
                }
                String target = service.name() + "/" + route.to();
                String earlier = targets.putIfAbsent(target, route.path());
                if (earlier != null) {
                    root.problems().add(new ConfigProblem(route.path() + ".to", "writes " + route.to() + " in service "
                            + service.name() + ", which " + earlier + " writes already; map each target table once"));
                }
            }
        }
    }
}
