import Glibc
import PostCallCSystem
import XCTest

@testable import PostCall

final class StoreThreadTests: XCTestCase {
    /// Woken by the loop, the store thread used to be placed on the loop's CPU, and the two took
    /// turns there (see ``StoreThread``). Each job runs off the CPU it was handed over from.
    func testAJobRunsOffTheCPUItWasHandedOverFrom() throws {
        guard postcall_allowed_cpu_count() >= 2 else { throw XCTSkip("this process may use one CPU only") }
        let thread = StoreThread(finished: {})
        XCTAssertTrue(thread.start())
        defer { thread.stop() }
        for _ in 0..<200 {
            var jobCPU: Int32 = -1
            var mayRunThere: Int32 = -1
            thread.submit {
                jobCPU = postcall_current_cpu()
                mayRunThere = postcall_thread_may_run_on(thread.loopCPU)
            }
            thread.wait()
            XCTAssertGreaterThanOrEqual(thread.loopCPU, 0)
            XCTAssertEqual(mayRunThere, 0, "the store thread may run on the CPU a job was handed over from")
            XCTAssertNotEqual(jobCPU, thread.loopCPU, "a job ran on the CPU it was handed over from")
        }
    }
}
