import Foundation
import Testing
import TollgateCore

@Suite struct KeyScreenTests {
    static let screen = KeyScreen(keys: ["tg_admin_0123456789abcdef", "proj-key-a"])

    static func carried(_ headers: [(String, String)], target: String = "/v1/chat/completions") -> Bool {
        screen.isCarried(headers: headers, target: target)
    }

    @Test(arguments: [
        [("Authorization", "Bearer tg_admin_0123456789abcdef")], [("x-api-key", "tg_admin_0123456789abcdef")],
        [("api-key", "proj-key-a")], [("Helicone-Auth", "Bearer proj-key-a")], [("authorization", "bearer   proj-key-a  ")],
        [("X-Custom", "a=1; token=proj-key-a; b=2")], [("tg_admin_0123456789abcdef", "1")],
        [("Authorization", "Basic " + "user:tg_admin_0123456789abcdef".base64), ("x", "y")],
        [("Authorization", "basic " + ":proj-key-a".base64)],
    ])
    func anAdminKeyInAnyHeaderIsFound(headers: [(String, String)]) {
        #expect(Self.carried(headers))
    }

    @Test(arguments: ["/v1/chat/completions?key=proj-key-a", "/v1/x?key=proj%2Dkey%2Da", "/v1/proj-key-a/x", "/v1/x?k=tg_admin_0123456789abcdef&y=1"])
    func anAdminKeyInThePathOrQueryIsFound(target: String) {
        #expect(Self.carried([], target: target))
    }

    @Test func otherKeysAndLongerWordsAreNotMistakenForAnAdminKey() {
        #expect(!Self.carried([("Authorization", "Bearer sk-proj-abc"), ("x-api-key", "sk-ant-123"), ("Helicone-Auth", "Bearer gk-1")]))
        #expect(!Self.carried([("Authorization", "Bearer xproj-key-a"), ("x-api-key", "proj-key-ab"), ("x", "tg_admin_0123456789abcdef0")]))
        #expect(!Self.carried([("Authorization", "Bearer proj-key-")], target: "/v1/chat/completions?proj-key=a"))
        #expect(!Self.carried([("Authorization", "Basic !!notbase64")]))
        #expect(!KeyScreen(keys: []).isCarried(headers: [("Authorization", "Bearer anything")], target: "/"))
    }

    @Test func aKeyIsFoundWhateverTheHashBase() {
        for base: UInt64 in [1, 3, 0xffff_ffff_ffff_ffff, 0x9e37_79b9_7f4a_7c15] {
            let screen = KeyScreen(keys: ["k", "abc", "proj-key-a"], base: base)
            #expect(screen.contains(Array("zz proj-key-a".utf8)))
            #expect(screen.contains(Array("k".utf8)))
            #expect(screen.contains(Array("x abc".utf8)))
            #expect(!screen.contains(Array("kk abcd proj-key-b".utf8)))
        }
    }
}

extension String {
    var base64: String { Data(utf8).base64EncodedString() }
}
