// Embedded Neo4j Community server with its Bolt connector on 127.0.0.1, for tests and local use.
// Run in Java source-file mode (no build step), normally through neo4j.sh:
//   java -cp '.neo4j/lib/*' graph/neo4j_server/Neo4jLauncher.java <data-dir> <port>
// The password of user neo4j comes from the env var NEO4J_PASSWORD (at least 8 characters);
// when it is empty, auth is disabled. Prints "neo4j ready bolt://127.0.0.1:<port>" once Bolt
// accepts connections; shuts down cleanly on SIGTERM/SIGINT.

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.io.ByteUnit;

public class Neo4jLauncher {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Neo4jLauncher <data-dir> <port>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = System.getenv().getOrDefault("NEO4J_PASSWORD", "");
        boolean auth = !password.isEmpty();
        if (auth && password.length() < 8) {
            System.err.println("NEO4J_PASSWORD must have at least 8 characters");
            System.exit(2);
        }

        // All state in one directory: <data-dir>/{databases,transactions,logs,...}.
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.data_directory, home)
                .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, auth)
                .setConfig(GraphDatabaseSettings.udc_enabled, false) // no usage reports home
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(256))
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, ByteUnit.mebiBytes(512))
                // Bolt waits 5 s + 5 s for connections and workers on shutdown by default.
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }));

        try {
            if (auth) {
                setPassword(dbms, password);
            }
            waitForPort(port);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1); // runs the shutdown hook
        }
        System.out.println("neo4j ready bolt://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }

    // Sets the password on a fresh store and on every restart (so a changed NEO4J_PASSWORD takes
    // effect) and clears "change required". Neo4j refuses to "change" to the same password: fine.
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        } catch (QueryExecutionException e) {
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
    }

    private static void waitForPort(int port) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (java.io.IOException e) {
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("Bolt did not open port " + port);
    }
}
