// Credentials. Inside the machine the first process is root, whatever host user runs tuml.
export class Cred {
  constructor(
    public uid = 0, public euid = 0, public suid = 0, public fsuid = 0,
    public gid = 0, public egid = 0, public sgid = 0, public fsgid = 0,
    public groups: number[] = [],
  ) {}
  clone(): Cred {
    return new Cred(this.uid, this.euid, this.suid, this.fsuid, this.gid, this.egid, this.sgid, this.fsgid, [...this.groups]);
  }
  /** CAP_DAC_OVERRIDE and friends: the fs uid is 0. */
  get fsRoot(): boolean {
    return this.fsuid === 0;
  }
  inGroup(gid: number): boolean {
    return this.fsgid === gid || this.groups.includes(gid);
  }
}
