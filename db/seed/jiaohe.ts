/**
 * The demo county, modelled on 蛟河市 (Jilin): two streets, three communities, seven grids.
 * Names are plausible, not a census: the point is a realistic shape for trying linli out.
 */
export interface DemoCommunity {
  code: string;
  name: string;
  grids: { name: string; buildings: number; floors: number; unitsPerBuilding: number; roomsPerFloor: number; lat: number; lng: number }[];
}

export const DEMO_COUNTY = { code: 'JH', name: '蛟河市', lat: 43.724, lng: 127.344 };

export const DEMO_STREETS: { code: string; name: string; communities: DemoCommunity[] }[] = [
  {
    code: 'JH-MZ',
    name: '民主街道',
    communities: [
      {
        code: 'JH-MZ-01',
        name: '幸福社区',
        grids: [
          { name: '第一网格', buildings: 2, floors: 6, unitsPerBuilding: 2, roomsPerFloor: 2, lat: 43.7262, lng: 127.3411 },
          { name: '第二网格', buildings: 2, floors: 6, unitsPerBuilding: 2, roomsPerFloor: 2, lat: 43.7275, lng: 127.3442 },
          { name: '第三网格', buildings: 1, floors: 5, unitsPerBuilding: 3, roomsPerFloor: 2, lat: 43.7251, lng: 127.3468 },
        ],
      },
      {
        code: 'JH-MZ-02',
        name: '长安社区',
        grids: [
          { name: '第一网格', buildings: 2, floors: 5, unitsPerBuilding: 2, roomsPerFloor: 2, lat: 43.7218, lng: 127.3385 },
          { name: '第二网格', buildings: 2, floors: 6, unitsPerBuilding: 1, roomsPerFloor: 3, lat: 43.7203, lng: 127.3402 },
        ],
      },
    ],
  },
  {
    code: 'JH-HN',
    name: '河南街道',
    communities: [
      {
        code: 'JH-HN-01',
        name: '拉法社区',
        grids: [
          { name: '第一网格', buildings: 2, floors: 5, unitsPerBuilding: 2, roomsPerFloor: 2, lat: 43.7132, lng: 127.3521 },
          { name: '第二网格', buildings: 2, floors: 4, unitsPerBuilding: 2, roomsPerFloor: 3, lat: 43.7119, lng: 127.3556 },
        ],
      },
    ],
  },
];
