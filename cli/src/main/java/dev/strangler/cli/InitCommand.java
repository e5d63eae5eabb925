package dev.strangler.cli;

import dev.strangler.connectors.PostgresCatalog;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.TableId;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;

/** {@code strangler init}: a commented starting config from what the monolith holds. */
@Command(name = "init", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Reads the monolith's tables and writes a commented starting strangler.yaml: every table listed with its",
                "primary key; tables without one are listed commented out, with the fix. Check the result with",
                "'strangler doctor -c strangler.yaml'. Exit code 0: written; 1: the monolith cannot be read; 2: bad usage."})
final class InitCommand implements Callable<Integer> {

    @Option(names = "--monolith", required = true, paramLabel = "JDBC_URL", description = "The monolith: jdbc:postgresql://host:port/db")
    String monolithUrl;

    @Option(names = "--user", required = true, description = "A monolith user that may read the catalog (and replicate, for capture).")
    String user;

    @Option(names = "--password-env", defaultValue = "MONOLITH_PASSWORD", description = "Environment variable holding the password "
            + "(default: ${DEFAULT-VALUE}); the config refers to it, never holds it.")
    String passwordEnv;

    @Option(names = "--password-file", description = "Read the password from this file instead (a mounted secret).")
    Path passwordFile;

    @Option(names = "--service", defaultValue = "service", description = "Name of the first service (default: ${DEFAULT-VALUE}).")
    String service;

    @Option(names = "--service-url", paramLabel = "JDBC_URL", description = "The service's database (default: a placeholder to edit).")
    String serviceUrl = "jdbc:postgresql://127.0.0.1:5432/service";

    @Option(names = "--service-user", description = "The service database's user (default: the service's name).")
    String serviceUser;

    @Option(names = {"-o", "--output"}, defaultValue = "strangler.yaml", description = "Where to write (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--force", description = "Overwrite the output file if it exists.")
    boolean force;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!monolithUrl.startsWith("jdbc:postgresql://")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--monolith must be jdbc:postgresql://host:port/database, not '"
                    + monolithUrl + "' (MariaDB and MySQL monoliths come with issue 3)");
        }
        if (!service.matches("[a-z][a-z0-9_-]{0,62}")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--service must be lower-case letters, digits, '_' or '-', not '" + service + "'");
        }
        if (Files.exists(output) && !force) {
            throw new CommandLine.ParameterException(spec.commandLine(), output + " exists; choose another --output or add --force");
        }
        PrintWriter err = spec.commandLine().getErr();
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", passwordFile != null ? Files.readString(passwordFile).trim() : System.getenv().getOrDefault(passwordEnv, ""));
        props.setProperty("connectTimeout", "10");
        StringBuilder yaml = new StringBuilder();
        int withKey = 0;
        int withoutKey = 0;
        try (Connection c = DriverManager.getConnection(monolithUrl, props)) {
            PostgresCatalog catalog = new PostgresCatalog(c);
            List<TableId> tables = catalog.tables();
            yaml.append("# Written by `strangler init` on ").append(LocalDate.now()).append(" from ").append(monolithUrl).append(".\n")
                    .append("# Every key: docs/configuration.md. Check this file against the databases: strangler doctor -c ")
                    .append(output.getFileName()).append("\n")
                    .append("kafka:\n")
                    .append("  bootstrap: embedded            # or the cluster: \"host1:9092,host2:9092\"\n")
                    .append("  topicPrefix: strangler\n")
                    .append("monolith:\n")
                    .append("  type: postgres\n")
                    .append("  url: ").append(monolithUrl).append('\n')
                    .append("  user: ").append(user).append("               # needs REPLICATION (ALTER ROLE ").append(user).append(" WITH REPLICATION)\n")
                    .append("  password: ${").append(passwordEnv).append("}\n")
                    .append("services:\n")
                    .append("  ").append(service).append(":                      # one entry per service database; move tables between them\n")
                    .append("    url: ").append(serviceUrl).append('\n')
                    .append("    user: ").append(serviceUser == null ? service : serviceUser).append('\n')
                    .append("    password: ${").append(service.toUpperCase().replace('-', '_')).append("_PASSWORD}\n")
                    .append("    tables:                     # ").append(tables.size()).append(" tables in the monolith\n");
            for (TableId id : tables) {
                TableSchema table = catalog.table(id).orElseThrow();
                if (table.primaryKey().isEmpty()) {
                    withoutKey++;
                    yaml.append("      # - from: ").append(id).append("   # NO PRIMARY KEY: rows are matched by key; add one first (ALTER TABLE ")
                            .append(id).append(" ADD PRIMARY KEY (...))\n");
                } else {
                    withKey++;
                    yaml.append("      - from: ").append(id).append("   # key: ").append(String.join(", ", table.primaryKey()))
                            .append("; ").append(table.columns().size()).append(" columns\n");
                }
            }
        } catch (SQLException e) {
            err.println("cannot read the monolith at " + monolithUrl + " as " + user + ": " + dev.strangler.core.Strings.firstLine(e.getMessage())
                    + (passwordFile == null && System.getenv(passwordEnv) == null ? " (the password comes from $" + passwordEnv + ", which is not set)" : ""));
            return Main.EXIT_FAILED;
        }
        Files.writeString(output, yaml.toString());
        PrintWriter out = spec.commandLine().getOut();
        out.println("wrote " + output + ": " + withKey + " tables" + (withoutKey == 0 ? "" : ", " + withoutKey
                + " without a primary key left commented out"));
        out.println("next: edit the service's url, then run: strangler doctor -c " + output);
        out.flush();
        return 0;
    }
}
